//! The fast paths of `Body::decode` agree with the general decoder on every input tried.

use super::*;
use crate::kind::ObjectionGround;

fn sample_bodies() -> Vec<Vec<u8>> {
    let region: RegionId = "xinyang".parse().unwrap();
    let nonce = Nonce::from_bytes(&[7; 16]).unwrap();
    let record = RecordContent {
        subject_name: Some("某公司".into()),
        legal_basis: "《食品安全法》".into(),
        facts: Some("x".into()),
        ..crate::bundle::sample::penalty(
            Subject::Uscc("91310110666007217T".parse().unwrap()),
            "信市监罚〔2026〕15号".into(),
            "2026-01-05".parse().unwrap(),
        )
    };
    vec![
        Body::Record(RecordBody { region: region.clone(), signed_at: 1_767_578_400, nonce: nonce.clone(), record })
            .encode(),
        Body::Objection(ObjectionBody {
            region,
            signed_at: 30,
            nonce,
            target: ObjectId([1; 32]),
            ground: ObjectionGround::Duplicated,
            statement: "s".into(),
            filed_on: "2026-01-10".parse().unwrap(),
        })
        .encode(),
    ]
}

#[test]
fn fast_path_agrees_with_the_general_decoder() {
    let mut tried = 0;
    for seed in sample_bodies() {
        assert!(Body::decode(&seed).is_ok());
        for i in 0..seed.len() {
            for v in [
                0x00, 0x01, 0x17, 0x18, 0x1a, 0x20, 0x40, 0x5f, 0x60, 0x61, 0x7f, 0x9f, 0xa0, 0xbf, 0xc1, 0xf6, 0xf9,
                0xff,
            ] {
                let mut m = seed.clone();
                m[i] = v;
                assert_eq!(Body::decode(&m), Body::decode_general(&m), "byte {i} := {v:#04x}");
                tried += 1;
            }
            let mut m = seed.clone();
            m[i] ^= 0x20;
            assert_eq!(Body::decode(&m), Body::decode_general(&m), "byte {i} ^= 0x20");
            assert_eq!(Body::decode(&seed[..i]), Body::decode_general(&seed[..i]), "truncated to {i}");
        }
        let long = [seed.as_slice(), &[0]].concat();
        assert_eq!(Body::decode(&long), Body::decode_general(&long));
    }
    assert!(tried > 5000);
}
