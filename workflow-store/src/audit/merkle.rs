//! The Merkle tree over complaint heads (RFC 6962's shape: leaves hashed with a 0x00
//! prefix, inner nodes with 0x01, split at the largest power of two below n).

use sha2::{Digest, Sha256};

use super::checkpoint::Head;
use crate::chain::hex;

/// The leaf hash of one complaint head: SHA-256 over 0x00 and the length-prefixed id,
/// sequence and hash (the same framing as the event hash).
pub fn leaf_hash(head: &Head) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    for field in [
        head.complaint_id.as_bytes(),
        head.sequence.to_string().as_bytes(),
        head.hash.as_bytes(),
    ] {
        hasher.update(field.len().to_string().as_bytes());
        hasher.update(b":");
        hasher.update(field);
        hasher.update(b"\n");
    }
    hasher.finalize().into()
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

fn root_of(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The root over heads in the order given (a checkpoint sorts them by complaint id).
pub fn merkle_root(heads: &[Head]) -> String {
    let leaves: Vec<[u8; 32]> = heads.iter().map(leaf_hash).collect();
    hex(&root_of(&leaves))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(id: &str) -> Head {
        Head {
            complaint_id: id.into(),
            sequence: workflow_core::Sequence::new(1),
            hash: "ab".into(),
        }
    }

    #[test]
    fn the_root_depends_on_every_leaf_and_its_place() {
        let heads: Vec<Head> = ["a", "b", "c"].iter().map(|i| head(i)).collect();
        let root = merkle_root(&heads);
        assert_eq!(root.len(), 64);
        let swapped = vec![heads[1].clone(), heads[0].clone(), heads[2].clone()];
        assert_ne!(merkle_root(&swapped), root);
        assert_ne!(merkle_root(&heads[..2]), root);
        // Three leaves split as (a, b), c.
        let l: Vec<[u8; 32]> = heads.iter().map(leaf_hash).collect();
        assert_eq!(hex(&node(&node(&l[0], &l[1]), &l[2])), root);
        assert_eq!(merkle_root(&[]), hex(&Sha256::digest(b"")));
    }
}
