//! TLS alerts seen on a connection, so a failure reads "received alert handshake_failure" rather
//! than a bare library code. BoringSSL reports every alert sent or received through the info
//! callback; the connection keeps the last fatal one of each direction.

use crate::conn::conn_of;
use btls_sys as sys;
use std::os::raw::c_int;

/// close_notify (0) and user_canceled (90) end a connection normally; they explain no failure.
const CLOSE_NOTIFY: u8 = 0;
const USER_CANCELED: u8 = 90;

/// The registry name of an alert description (IANA TLS Alerts, RFC 8446 §6 and earlier RFCs).
pub fn alert_name(desc: u8) -> String {
    let name = match desc {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return format!("alert {desc}"),
    };
    name.to_string()
}

/// Info callback (client and server contexts): records fatal alerts in the connection.
pub unsafe extern "C" fn on_info(ssl: *const sys::SSL, where_: c_int, value: c_int) {
    if where_ & sys::SSL_CB_ALERT == 0 {
        return;
    }
    let conn = conn_of(ssl);
    let desc = (value & 0xff) as u8;
    if conn.is_null() || desc == CLOSE_NOTIFY || desc == USER_CANCELED {
        return;
    }
    if where_ & sys::SSL_CB_READ != 0 {
        (*conn).alert_received = Some(desc);
    } else if where_ & sys::SSL_CB_WRITE != 0 {
        (*conn).alert_sent = Some(desc);
    }
}
