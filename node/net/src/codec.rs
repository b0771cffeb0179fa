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
//!
//! A request frame the requester got wrong (over the cap, not strict CBOR, cut short) is read as
//! [`SyncFrame::Malformed`], not as an I/O error: libp2p-request-response drops a failed
//! `read_request` with a debug log only (no `InboundFailure`, no peer), so an error here would
//! let a peer send garbage for free. As a value it reaches the swarm task with the peer's id,
//! which refuses it and counts it against the peer (`inbound.rs`). Only transport errors (reset,
//! closed connection) stay errors. Response frames are read by the requester, where any
//! failure already surfaces as that request's error.

use std::io;

use credfed_protocol::wire::{self, SyncRequest, SyncResponse, MAX_REQUEST_LEN, MAX_RESPONSE_LEN};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// The sync codec (stateless).
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncCodec;

/// One request frame: what a node sends, and what [`SyncCodec`] reads from a requester.
#[derive(Clone, Debug, PartialEq)]
pub enum SyncFrame {
    /// A strictly decoded request.
    Request(SyncRequest),
    /// A frame the requester should not have sent, and why (naming the limit it broke). Only
    /// ever read, never written.
    Malformed(String),
}

/// Reads one request frame: a peer's mistakes become [`SyncFrame::Malformed`].
async fn read_request_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<SyncFrame> {
    let malformed = |e: io::Error| match e.kind() {
        io::ErrorKind::InvalidData => Ok(SyncFrame::Malformed(e.to_string())),
        io::ErrorKind::UnexpectedEof => Ok(SyncFrame::Malformed("sync request frame cut short".to_owned())),
        _ => Err(e),
    };
    match read_frame(io, MAX_REQUEST_LEN, "sync request").await {
        Ok(buf) => Ok(match wire::decode_request(&buf) {
            Ok(req) => SyncFrame::Request(req),
            Err(e) => SyncFrame::Malformed(format!("sync request: {e}")),
        }),
        Err(e) => malformed(e),
    }
}

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
    type Request = SyncFrame;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncFrame>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_request_frame(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let buf = read_frame(io, MAX_RESPONSE_LEN, "sync response").await?;
        wire::decode_response(&buf).map_err(|e| invalid(e.to_string()))
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: SyncFrame) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            SyncFrame::Request(req) => write_frame(io, &wire::encode(&req), MAX_REQUEST_LEN, "sync request").await,
            SyncFrame::Malformed(_) => {
                Err(io::Error::new(io::ErrorKind::InvalidInput, "a malformed frame is not sent"))
            }
        }
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
        block_on(SyncCodec.write_request(&proto(), &mut out, SyncFrame::Request(SyncRequest::Heads))).unwrap();
        let bytes = out.into_inner();
        assert_eq!(&bytes[..4], &(bytes.len() as u32 - 4).to_be_bytes());
        let got = block_on(SyncCodec.read_request(&proto(), &mut Cursor::new(bytes))).unwrap();
        assert_eq!(got, SyncFrame::Request(SyncRequest::Heads));
    }

    fn read_malformed(bytes: Vec<u8>) -> String {
        match block_on(SyncCodec.read_request(&proto(), &mut Cursor::new(bytes))) {
            Ok(SyncFrame::Malformed(why)) => why,
            other => panic!("expected a malformed frame, got {other:?}"),
        }
    }

    #[test]
    fn oversize_length_prefix_is_refused_before_reading_the_body() {
        // Only the 4-byte prefix is present: the codec must fail on the prefix alone, not
        // wait for (or allocate) the announced body.
        let prefix = ((MAX_RESPONSE_LEN + 1) as u32).to_be_bytes().to_vec();
        let err = block_on(SyncCodec.read_response(&proto(), &mut Cursor::new(prefix))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("exceeds"), "{err}");
        // A request prefix over the cap is the requester's fault: read as malformed, the
        // body still unread.
        let prefix = ((MAX_REQUEST_LEN + 1) as u32).to_be_bytes().to_vec();
        let why = read_malformed(prefix);
        assert!(why.contains("exceeds the 65536-byte limit"), "{why}");
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
    fn garbage_and_truncated_request_frames_are_malformed() {
        let mut frame = 3u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0xff, 0x00, 0x01]);
        assert!(read_malformed(frame).starts_with("sync request: "));
        let mut short = 10u32.to_be_bytes().to_vec();
        short.extend_from_slice(&[0xa0]);
        assert_eq!(read_malformed(short), "sync request frame cut short");
        assert_eq!(read_malformed(vec![0, 0]), "sync request frame cut short");
        // A range longer than wire::MAX_RANGE is refused by the strict decoder.
        let req = SyncRequest::Range { origin: "luan".parse().unwrap(), from: 1, to: 500 };
        let body = wire::encode(&req);
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        read_malformed(frame);
        // A malformed frame is never written.
        let mut out = Cursor::new(Vec::new());
        let err = block_on(SyncCodec.write_request(&proto(), &mut out, SyncFrame::Malformed("x".into()))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(out.into_inner().is_empty());
    }

    #[test]
    fn a_truncated_response_is_still_an_error() {
        let mut short = 10u32.to_be_bytes().to_vec();
        short.extend_from_slice(&[0xa0]);
        let err = block_on(SyncCodec.read_response(&proto(), &mut Cursor::new(short))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
