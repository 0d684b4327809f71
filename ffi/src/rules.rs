//! RFC 8446 rules every ClientHello built from a profile spec must keep. The TypeScript profile
//! validation checks them first with key paths; this is the last line of defence for a spec
//! that reached the engine some other way. Every refusal names the knob.

use crate::spec::ProfileSpec;

/// IANA ExtensionType values.
const PRE_SHARED_KEY: u16 = 41;
const SUPPORTED_VERSIONS: u16 = 43;
const KEY_SHARE: u16 = 51;
const TLS13: u16 = 0x0304;
/// RFC 7919 finite-field groups (0x0100..0x01ff): BoringSSL lists them but sends no key share.
const FFDHE: std::ops::RangeInclusive<u16> = 0x0100..=0x01ff;

pub fn check(spec: &ProfileSpec) -> Result<(), String> {
    check_key_shares(spec)?;
    if spec.max_version >= TLS13 && !spec.ciphers.iter().any(|c| c >> 8 == 0x13) {
        return Err(format!(
            "ciphers: TLS 1.3 is offered (max version 0x{:04x}) but no TLS 1.3 suite is listed",
            spec.max_version
        ));
    }
    if let Some(order) = &spec.extension_order {
        check_extension_order(spec, order)?;
    }
    Ok(())
}

/// RFC 8446 §4.2.8: every key share is for a group in supported_groups, at most one per group.
fn check_key_shares(spec: &ProfileSpec) -> Result<(), String> {
    for (i, k) in spec.key_shares.iter().enumerate() {
        if !spec.groups.contains(k) {
            return Err(format!("key_shares: {k} is not in groups (RFC 8446 §4.2.8)"));
        }
        if spec.key_shares[..i].contains(k) {
            return Err(format!("key_shares: {k} appears twice (RFC 8446 §4.2.8)"));
        }
        if FFDHE.contains(k) {
            return Err(format!("key_shares: {k} is a finite-field group, which gets no key share"));
        }
    }
    Ok(())
}

fn check_extension_order(spec: &ProfileSpec, order: &[u16]) -> Result<(), String> {
    for (i, id) in order.iter().enumerate() {
        if order[..i].contains(id) {
            return Err(format!("extension_order: {id} appears twice (RFC 8446 §4.2)"));
        }
    }
    if let Some(at) = order.iter().position(|&id| id == PRE_SHARED_KEY) {
        if at != order.len() - 1 {
            return Err("extension_order: pre_shared_key (41) must be last (RFC 8446 §4.2.11)".into());
        }
        if !spec.psk_dhe_ke {
            return Err("extension_order: pre_shared_key (41) without psk_key_exchange_modes \
                        (psk_dhe_ke = false) is forbidden (RFC 8446 §4.2.9)"
                .into());
        }
    }
    if spec.max_version >= TLS13 {
        for (id, name) in [(SUPPORTED_VERSIONS, "supported_versions"), (KEY_SHARE, "key_share")] {
            if !order.contains(&id) {
                return Err(format!(
                    "extension_order: {name} ({id}) is missing although TLS 1.3 is offered \
                     (it would be placed at random)"
                ));
            }
        }
    }
    Ok(())
}
