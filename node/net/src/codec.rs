//! The request-response codec for [`SYNC_PROTOCOL`](credfed_protocol::wire::SYNC_PROTOCOL):
//! one length-prefixed frame per stream direction.
//!
//! ```text
//! frame = len: u32 big-endian ‖ canonical CBOR (wire::SyncRequest | wire::SyncResponse)
//! ```
//!
//! The length is checked against [`MAX_REQUEST_LEN`] / [`MAX_RESPONSE_LEN`] *before* a byte of
//! the body is read or a buffer allocated (STYLE habit 3), then `wire::decode_*` checks the cap
//! again and decodes strictly. Writers refuse oversize messages too, so a node never sends
//! what a peer must refuse.

use std::io;

use credfed_protocol::wire::{self, SyncRequest, SyncResponse, MAX_REQUEST_LEN, MAX_RESPONSE_LEN};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// The sync codec (stateless).
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncCodec;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads one frame of at most `max` bytes.
async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize, what: &str) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(invalid(format!("{what} frame of {len} bytes exceeds the {max}-byte limit")));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes one frame, refusing bodies over `max` bytes.
async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, body: &[u8], max: usize, what: &str) -> io::Result<()> {
    if body.len() > max {
        return Err(invalid(format!("{what} of {} bytes exceeds the {max}-byte limit; not sent", body.len())));
    }
    let len = u32::try_from(body.len()).map_err(|_| invalid(format!("{what} too large")))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(body).await
    // The request-response handler closes the stream after the write.
}

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let buf = read_frame(io, MAX_REQUEST_LEN, "sync request").await?;
        wire::decode_request(&buf).map_err(|e| invalid(e.to_string()))
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let buf = read_frame(io, MAX_RESPONSE_LEN, "sync response").await?;
        wire::decode_response(&buf).map_err(|e| invalid(e.to_string()))
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: SyncRequest) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &wire::encode(&req), MAX_REQUEST_LEN, "sync request").await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, res: SyncResponse) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &wire::encode(&res), MAX_RESPONSE_LEN, "sync response").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credfed_protocol::cbor::ByteBuf;
    use futures::executor::block_on;
    use futures::io::Cursor;
    use libp2p::request_response::Codec;

    fn proto() -> StreamProtocol {
        StreamProtocol::new(wire::SYNC_PROTOCOL)
    }

    #[test]
    fn request_round_trips_through_a_frame() {
        let mut out = Cursor::new(Vec::new());
        block_on(SyncCodec.write_request(&proto(), &mut out, SyncRequest::Heads)).unwrap();
        let bytes = out.into_inner();
        assert_eq!(&bytes[..4], &(bytes.len() as u32 - 4).to_be_bytes());
        let got = block_on(SyncCodec.read_request(&proto(), &mut Cursor::new(bytes))).unwrap();
        assert_eq!(got, SyncRequest::Heads);
    }

    #[test]
    fn oversize_length_prefix_is_refused_before_reading_the_body() {
        // Only the 4-byte prefix is present: the codec must fail on the prefix alone, not
        // wait for (or allocate) the announced body.
        let prefix = ((MAX_RESPONSE_LEN + 1) as u32).to_be_bytes().to_vec();
        let err = block_on(SyncCodec.read_response(&proto(), &mut Cursor::new(prefix))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("exceeds"), "{err}");
        let prefix = ((MAX_REQUEST_LEN + 1) as u32).to_be_bytes().to_vec();
        let err = block_on(SyncCodec.read_request(&proto(), &mut Cursor::new(prefix))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn oversize_response_is_not_written() {
        let envelopes = (0..140).map(|_| ByteBuf(vec![0u8; 48 * 1024])).collect();
        let mut out = Cursor::new(Vec::new());
        let res = SyncResponse::Objects { envelopes };
        let err = block_on(SyncCodec.write_response(&proto(), &mut out, res)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(out.into_inner().is_empty());
    }

    #[test]
    fn garbage_and_truncated_frames_are_errors() {
        let mut frame = 3u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0xff, 0x00, 0x01]);
        assert!(block_on(SyncCodec.read_request(&proto(), &mut Cursor::new(frame))).is_err());
        let mut short = 10u32.to_be_bytes().to_vec();
        short.extend_from_slice(&[0xa0]);
        let err = block_on(SyncCodec.read_request(&proto(), &mut Cursor::new(short))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        // A range longer than wire::MAX_RANGE is refused by the strict decoder.
        let req = SyncRequest::Range { origin: "luan".parse().unwrap(), from: 1, to: 500 };
        let body = wire::encode(&req);
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        assert!(block_on(SyncCodec.read_request(&proto(), &mut Cursor::new(frame))).is_err());
    }
}
