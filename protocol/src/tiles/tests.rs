use proptest::prelude::*;

use super::*;
use crate::merkle::{inclusion_proof, leaf_hash, root, EMPTY_ROOT};

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect()
}

fn t(level: u8, index: u64, width: u16) -> Tile {
    Tile::new(level, index, width).unwrap()
}

fn hashes_of(tile: &Tile, l: &[Hash]) -> Result<Vec<u8>, TileError> {
    tile.hashes(l.len() as u64, |i| Ok::<_, TileError>(l[i as usize]))
}

#[test]
fn index_encoding_matches_the_spec_examples() {
    assert_eq!(encode_index(0), "000");
    assert_eq!(encode_index(7), "007");
    assert_eq!(encode_index(999), "999");
    assert_eq!(encode_index(1000), "x001/000");
    assert_eq!(encode_index(1_234_067), "x001/x234/067");
    assert_eq!(t(0, 1_234_067, 256).path(), "tile/0/x001/x234/067");
    assert_eq!(t(1, 1, 3).path(), "tile/1/001.p/3");
    assert_eq!(t(0, 2, 17).entries_path(), "tile/entries/002.p/17");
}

#[test]
fn canonical_paths_parse() {
    assert_eq!(TileRequest::parse("tile/0/000").unwrap(), TileRequest::Hashes(t(0, 0, 256)));
    assert_eq!(TileRequest::parse("tile/2/x001/x234/067").unwrap(), TileRequest::Hashes(t(2, 1_234_067, 256)));
    assert_eq!(TileRequest::parse("tile/0/005.p/255").unwrap(), TileRequest::Hashes(t(0, 5, 255)));
    assert_eq!(TileRequest::parse("tile/entries/x001/000.p/1").unwrap(), TileRequest::Entries(t(0, 1000, 1)));
}

#[test]
fn non_canonical_and_huge_paths_are_refused() {
    for p in [
        "",
        "tile/",
        "tile/0",
        "tile/0/",
        "tile/00/000",                                   // leading zero in the level
        "tile/01/000",                                   // leading zero in the level
        "tile/64/000",                                   // level above 63
        "tile/8/000",                                    // level 8 spans 2^64 leaves: no tree under the cap has it
        "tile/-1/000",                                   // sign
        "tile/0/0",                                      // index group not three digits
        "tile/0/0000",                                   // index group of four digits
        "tile/0/x000/001",                               // leading all-zero group
        "tile/0/001/001",                                // missing x
        "tile/0/x001",                                   // last group prefixed
        "tile/0/x1/001",                                 // short x group
        "tile/0/000.p/0",                                // width 0
        "tile/0/000.p/256",                              // .p/ on a full width
        "tile/0/000.p/300",                              // width above 256
        "tile/0/000.p/05",                               // leading zero in the width
        "tile/0/000.p/",                                 // empty width
        "tile/0/000.p/1/2",                              // trailing segment
        "tile/0/000/",                                   // trailing slash
        "tile/0/000.p/1.p/1",                            // doubled suffix
        "tile/entries/000.p/0",                          // width 0 on a bundle
        "tile/entry/000",                                // wrong word
        "tile/0/x999/x999/x999/x999/x999/x999/999",      // does not fit 64 bits
        "tile/0/x001/x000/x000/x000/x000/x000/x000/000", // too many groups
        "tile/0/x036/x028/x797/x018/x963/x968/000",      // fits u64, beyond 2^63 - 1 leaves
        "tile/7/x999/000",                               // level-7 index beyond the cap
        "tile/0/ 000",
        "tile/0/+00",
        "tile/0/٠٠٠", // non-ASCII digits
    ] {
        assert!(TileRequest::parse(p).is_err(), "{p:?} parsed");
    }
}

#[test]
fn widths_in_a_tree() {
    assert_eq!(width_in_tree(0, 0, 0), None);
    assert_eq!(width_in_tree(0, 0, 1), Some(1));
    assert_eq!(width_in_tree(0, 0, 256), Some(256));
    assert_eq!(width_in_tree(0, 1, 256), None);
    assert_eq!(width_in_tree(0, 1, 300), Some(44));
    assert_eq!(width_in_tree(1, 0, 300), Some(1));
    assert_eq!(width_in_tree(1, 0, 255), None);
    assert_eq!(width_in_tree(2, 0, 65_536), Some(1));
    assert_eq!(width_in_tree(7, 0, MAX_TREE_SIZE), Some(127));
    assert_eq!(width_in_tree(8, 0, MAX_TREE_SIZE), None);
    assert_eq!(width_in_tree(63, u64::MAX, MAX_TREE_SIZE), None);
    let all = tiles_of(300);
    assert_eq!(all, vec![t(0, 0, 256), t(0, 1, 44), t(1, 0, 1)]);
    assert!(tiles_of(0).is_empty());
    assert_eq!(tiles_of(65_536).len(), 256 + 1 + 1);
}

#[test]
fn tile_bytes_are_the_merkle_node_hashes() {
    let l = leaves(600);
    // Level 0: leaf hashes.
    let full = hashes_of(&t(0, 0, 256), &l).unwrap();
    assert_eq!(full, l[..256].concat());
    let partial = hashes_of(&t(0, 2, 88), &l).unwrap();
    assert_eq!(partial, l[512..600].concat());
    // A partial tile is a prefix of the full tile at the same coordinate.
    assert_eq!(hashes_of(&t(0, 0, 10), &l).unwrap(), full[..320]);
    // Level 1: each hash is the root of 256 leaves; the tree of 512 leaves has root
    // node_hash(tile[0], tile[1]).
    let level1 = hashes_of(&t(1, 0, 2), &l).unwrap();
    assert_eq!(level1[..32], root(&l[..256]));
    assert_eq!(level1[32..], root(&l[256..512]));
    assert_eq!(crate::merkle::node_hash(&l1(&level1, 0), &l1(&level1, 1)), root(&l[..512]));
    // The inclusion proof of leaf 300 in the 512-leaf tree ends with the level-1 sibling.
    let proof = inclusion_proof(&l[..512], 300).unwrap();
    assert_eq!(proof.last().unwrap(), &l1(&level1, 0));
    // Beyond the tree.
    assert!(matches!(hashes_of(&t(1, 0, 3), &l), Err(TileError::BeyondTree { .. })));
    assert!(matches!(hashes_of(&t(0, 2, 89), &l), Err(TileError::BeyondTree { .. })));
    assert!(matches!(hashes_of(&t(0, 3, 1), &l), Err(TileError::BeyondTree { .. })));
    assert_ne!(l1(&level1, 0), EMPTY_ROOT);
}

fn l1(bytes: &[u8], k: usize) -> Hash {
    bytes[32 * k..32 * k + 32].try_into().unwrap()
}

#[test]
fn tile_hashes_read_only_the_leaves_under_the_tile() {
    let l = leaves(600);
    let mut read = Vec::new();
    t(0, 2, 5)
        .hashes(600, |i| {
            read.push(i);
            Ok::<_, TileError>(l[i as usize])
        })
        .unwrap();
    assert_eq!(read, (512..517).collect::<Vec<_>>());
    let mut n = 0;
    t(1, 0, 2)
        .hashes(600, |i| {
            n += 1;
            Ok::<_, TileError>(l[i as usize])
        })
        .unwrap();
    assert_eq!(n, 512);
}

#[test]
fn entry_bundles() {
    let entries: Vec<&[u8]> = vec![b"", b"a", &[0xff; 300]];
    let b = entry_bundle(entries.iter().copied()).unwrap();
    assert_eq!(&b[..5], &[0, 0, 0, 1, b'a']);
    assert_eq!(&b[5..7], &[0x01, 0x2c]);
    assert_eq!(parse_entry_bundle(&b).unwrap(), entries);
    assert_eq!(entry_bundle([&[0u8; 65_536][..]]), Err(TileError::EntryTooLarge(65_536)));
    assert!(entry_bundle([&[0u8; 65_535][..]]).is_ok());
    assert!(parse_entry_bundle(&[0]).is_err());
    assert!(parse_entry_bundle(&[0, 2, 1]).is_err());
}

proptest! {
    #[test]
    fn paths_round_trip(level in 0u8..=7, index in any::<u64>(), width in 1u16..=256, entries in any::<bool>()) {
        let Ok(tile) = Tile::new(level, index, width) else { return Ok(()) };
        let req = if entries { TileRequest::Entries(Tile::new(0, index, width).unwrap_or(tile)) } else { TileRequest::Hashes(tile) };
        prop_assert_eq!(TileRequest::parse(&req.path()), Ok(req));
    }

    #[test]
    fn small_indices_are_in_range(index in 0u64..(1 << 40), width in 1u16..=256) {
        let tile = Tile::new(0, index, width).unwrap();
        prop_assert_eq!(TileRequest::parse(&tile.path()), Ok(TileRequest::Hashes(tile)));
    }

    #[test]
    fn arbitrary_paths_never_panic_and_parse_only_canonically(s in "tile/[0-9a-z./x]{0,40}") {
        if let Ok(req) = TileRequest::parse(&s) {
            prop_assert_eq!(req.path(), s);
        }
    }

    #[test]
    fn every_tile_of_a_tree_is_in_it_and_the_next_width_is_not(size in 0u64..3000) {
        for tile in tiles_of(size) {
            prop_assert!(tile.check_in_tree(size).is_ok());
            if !tile.is_full() {
                let wider = Tile::new(tile.level(), tile.index(), tile.width() + 1).unwrap();
                prop_assert!(wider.check_in_tree(size).is_err());
            }
        }
    }

    #[test]
    fn level0_tiles_concatenate_to_the_leaves(size in 1u64..700) {
        let l = leaves(size);
        let mut all = Vec::new();
        for tile in tiles_of(size).into_iter().filter(|t| t.level() == 0) {
            all.extend(hashes_of(&tile, &l).unwrap());
        }
        prop_assert_eq!(all, l.concat());
    }
}
