//! Node key ⇄ libp2p identity. A credfed node key is an ed25519 key, and an ed25519 PeerId
//! inlines its public key (identity multihash), so the gate can recover the node key from the
//! PeerId that Noise authenticated and ask the trust state about it.

use credfed_protocol::keys::{PublicKey, SecretKey};
use libp2p::identity::{self, Keypair};
use libp2p::PeerId;

/// Multihash code of the identity hash, used for PeerIds of small keys such as ed25519.
const IDENTITY_MULTIHASH: u64 = 0x00;

/// The libp2p keypair for a node key.
pub(crate) fn keypair(key: &SecretKey) -> Keypair {
    let mut seed = key.to_bytes();
    // `ed25519_from_bytes` zeroizes the seed it is given; 32 bytes always decode.
    Keypair::ed25519_from_bytes(&mut seed).expect("a 32-byte seed is a valid ed25519 secret key")
}

/// The PeerId of a node key.
pub fn peer_id_of(key: &PublicKey) -> PeerId {
    let pk = identity::ed25519::PublicKey::try_from_bytes(key.as_bytes())
        .expect("credfed public keys are valid ed25519 points");
    identity::PublicKey::from(pk).to_peer_id()
}

/// The node key behind a PeerId, if it is an ed25519 identity (the only kind credfed admits).
pub fn node_key_of(peer: &PeerId) -> Option<PublicKey> {
    let mh = peer.as_ref();
    if mh.code() != IDENTITY_MULTIHASH {
        return None;
    }
    let pk = identity::PublicKey::try_decode_protobuf(mh.digest()).ok()?;
    let ed = pk.try_into_ed25519().ok()?;
    PublicKey::from_bytes(&ed.to_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_round_trips_to_node_key() {
        let sk = SecretKey::from_bytes(&[9u8; 32]).unwrap();
        let pk = sk.public();
        let peer = peer_id_of(&pk);
        assert_eq!(keypair(&sk).public().to_peer_id(), peer);
        assert_eq!(node_key_of(&peer), Some(pk));
        // A random PeerId is a SHA-256 multihash: no key inside.
        assert_eq!(node_key_of(&PeerId::random()), None);
    }
}
