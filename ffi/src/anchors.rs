//! The trust_anchors extension (0xca34, draft-ietf-tls-trust-anchor-ids): the IDs a profile
//! requests, and the order rule. BoringSSL writes the configured list verbatim
//! (`SSL_CTX_set1_requested_trust_anchors`), so the order is decided here, once per context.

use crate::error::take_ssl_errors;
use btls_sys as sys;
use serde::Deserialize;

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum AnchorOrder {
    /// Wire order = the profile's order (Chrome 154+ sends its list sorted).
    #[serde(rename = "as-listed")]
    AsListed,
    /// One random permutation per context, i.e. per profile and process (Chrome 152-153, Opera
    /// 136: the order of a per-process hash set).
    #[serde(rename = "shuffled-per-process")]
    ShuffledPerProcess,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustAnchors {
    /// Each ID in binary form (a relative OID's contents octets), 1..255 bytes.
    pub ids: Vec<Vec<u8>>,
    pub order: AnchorOrder,
}

/// A uniform index below `n` (n > 0) from BoringSSL's RNG, by rejection sampling.
fn random_below(n: usize) -> Result<usize, String> {
    let limit = u32::MAX - u32::MAX % n as u32;
    loop {
        let mut b = [0u8; 4];
        if unsafe { sys::RAND_bytes(b.as_mut_ptr(), b.len()) } != 1 {
            return Err("trust_anchors: RAND_bytes failed".into());
        }
        let v = u32::from_le_bytes(b);
        if v < limit {
            return Ok((v % n as u32) as usize);
        }
    }
}

/// The extension's TrustAnchorIDList body: each ID with its u8 length, in wire order.
pub fn wire_list(anchors: &TrustAnchors) -> Result<Vec<u8>, String> {
    let mut ids: Vec<&Vec<u8>> = anchors.ids.iter().collect();
    for (i, id) in ids.iter().enumerate() {
        if id.is_empty() || id.len() > 255 {
            return Err(format!("trust_anchors: ID {i} must be 1..255 bytes, got {}", id.len()));
        }
        if ids[..i].contains(id) {
            return Err(format!("trust_anchors: ID {i} appears twice"));
        }
    }
    if anchors.order == AnchorOrder::ShuffledPerProcess {
        for i in (1..ids.len()).rev() {
            ids.swap(i, random_below(i + 1)?);
        }
    }
    let mut out = Vec::new();
    for id in ids {
        out.push(id.len() as u8);
        out.extend_from_slice(id);
    }
    Ok(out)
}

/// Configures `ctx` to send trust_anchors with `anchors` (an empty list still sends the
/// extension, signalling support for the retry flow).
pub unsafe fn apply(ctx: *mut sys::SSL_CTX, anchors: &TrustAnchors) -> Result<(), String> {
    let list = wire_list(anchors)?;
    if list.len() > 0xffff {
        return Err(format!("trust_anchors: the list is {} bytes, more than 65535", list.len()));
    }
    if sys::SSL_CTX_set1_requested_trust_anchors(ctx, list.as_ptr(), list.len()) != 1 {
        let ssl = take_ssl_errors();
        return Err(format!("trust_anchors: BoringSSL refused the list ({ssl})"));
    }
    Ok(())
}

