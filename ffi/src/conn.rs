//! One TLS connection over two memory BIOs: the caller feeds received ciphertext into `rbio` and
//! drains ciphertext to send from `wbio`. Native code never keeps a caller pointer: every input
//! is copied into the BIO or the SSL before the call returns.

use crate::alert::alert_name;
use crate::error::*;
use crate::pipe::{self, Pipe};
use crate::spec::ClientDefaults;
use crate::verify::VerifyConfig;
use btls_sys as sys;
use std::ffi::c_void;
use std::os::raw::{c_int, c_uint};
use std::sync::OnceLock;

pub struct Conn {
    pub ssl: *mut sys::SSL,
    /// Ciphertext received from the peer, not yet consumed by the SSL.
    input: Box<Pipe>,
    /// Ciphertext the SSL produced, not yet taken by the caller.
    output: Box<Pipe>,
    /// Server side: ALPN protocols in server preference order (wire format pieces).
    pub server_alpn: Vec<Vec<u8>>,
    /// Client side: the newest session the server gave us, not yet taken.
    pub new_session: *mut sys::SSL_SESSION,
    /// Client side: what the certificate check needs (None = verification off).
    pub verify: Option<VerifyConfig>,
    /// Client side: why the certificate check failed.
    pub verify_error: Option<String>,
    /// The last fatal alert received from the peer / sent to it (alert.rs), for error reasons.
    pub alert_received: Option<u8>,
    pub alert_sent: Option<u8>,
    pub is_server: bool,
}

static EX_INDEX: OnceLock<c_int> = OnceLock::new();

pub fn ex_index() -> c_int {
    *EX_INDEX.get_or_init(|| unsafe {
        sys::SSL_get_ex_new_index(0, std::ptr::null_mut(), std::ptr::null_mut(), None, None)
    })
}

pub unsafe fn conn_of(ssl: *const sys::SSL) -> *mut Conn {
    sys::SSL_get_ex_data(ssl, ex_index()) as *mut Conn
}

/// New-session callback (client contexts): keeps the newest session for `pb_take_session`.
pub unsafe extern "C" fn on_new_session(ssl: *mut sys::SSL, session: *mut sys::SSL_SESSION) -> c_int {
    let conn = conn_of(ssl);
    if conn.is_null() {
        return 0;
    }
    if !(*conn).new_session.is_null() {
        sys::SSL_SESSION_free((*conn).new_session);
    }
    (*conn).new_session = session;
    1 // we took ownership
}

/// ALPN selection (server contexts): the first of our protocols, in our order, that the client
/// offered. No overlap means no ALPN, which the proxy treats as http/1.1.
pub unsafe extern "C" fn select_alpn(
    ssl: *mut sys::SSL,
    out: *mut *const u8,
    out_len: *mut u8,
    input: *const u8,
    in_len: c_uint,
    _arg: *mut c_void,
) -> c_int {
    let conn = conn_of(ssl);
    if conn.is_null() {
        return sys::SSL_TLSEXT_ERR_NOACK as c_int;
    }
    let offered = std::slice::from_raw_parts(input, in_len as usize);
    for ours in &(*conn).server_alpn {
        let mut i = 0usize;
        while i < offered.len() {
            let l = offered[i] as usize;
            if i + 1 + l > offered.len() {
                break;
            }
            if &offered[i + 1..i + 1 + l] == ours.as_slice() {
                *out = input.add(i + 1);
                *out_len = l as u8;
                return sys::SSL_TLSEXT_ERR_OK as c_int;
            }
            i += 1 + l;
        }
    }
    sys::SSL_TLSEXT_ERR_NOACK as c_int
}

pub fn alpn_wire(protocols: &[String]) -> Result<Vec<u8>, String> {
    let mut v = Vec::new();
    for p in protocols {
        if p.is_empty() || p.len() > 255 {
            return Err(format!("alpn: \"{p}\" must be 1..255 bytes"));
        }
        v.push(p.len() as u8);
        v.extend_from_slice(p.as_bytes());
    }
    Ok(v)
}

impl Conn {
    /// Wraps a fresh SSL with memory BIOs and links it back to the boxed Conn.
    pub unsafe fn new(ssl: *mut sys::SSL, is_server: bool) -> Result<Box<Conn>, String> {
        let mut input = Box::<Pipe>::default();
        let mut output = Box::<Pipe>::default();
        let rbio = pipe::new_bio(&mut *input);
        let wbio = pipe::new_bio(&mut *output);
        if rbio.is_null() || wbio.is_null() {
            sys::BIO_free(rbio);
            sys::BIO_free(wbio);
            sys::SSL_free(ssl);
            return Err("BIO_new failed".into());
        }
        sys::SSL_set_bio(ssl, rbio, wbio);
        // Free certificates, keys and lists once the handshake is done: an idle tunnel then
        // keeps only its keys and record state.
        sys::SSL_set_shed_handshake_config(ssl, 1);
        let mut conn = Box::new(Conn {
            ssl,
            input,
            output,
            server_alpn: Vec::new(),
            new_session: std::ptr::null_mut(),
            verify: None,
            verify_error: None,
            alert_received: None,
            alert_sent: None,
            is_server,
        });
        let raw: *mut Conn = &mut *conn;
        sys::SSL_set_ex_data(ssl, ex_index(), raw as *mut c_void);
        Ok(conn)
    }

    pub unsafe fn apply_client(&mut self, d: &ClientDefaults, o: &ClientOptions) -> Result<(), Failure> {
        let ssl = self.ssl;
        sys::SSL_set_connect_state(ssl);
        let ip = o.host.parse::<std::net::IpAddr>().is_ok();
        let chost = std::ffi::CString::new(o.host.as_str()).map_err(|_| "host: NUL byte".to_string())?;
        if !ip && sys::SSL_set_tlsext_host_name(ssl, chost.as_ptr()) != 1 {
            return Err(format!("host: cannot use \"{}\" as SNI", o.host).into());
        }
        if !d.key_shares.is_empty() && sys::SSL_set1_client_key_shares(ssl, d.key_shares.as_ptr(), d.key_shares.len()) != 1 {
            return Err(format!("key_shares: BoringSSL refused {:?}", d.key_shares).into());
        }
        let alpn = o.alpn.as_ref().unwrap_or(&d.alpn);
        if !alpn.is_empty() {
            let wire = alpn_wire(alpn)?;
            // SSL_set_alpn_protos returns 0 on success.
            if sys::SSL_set_alpn_protos(ssl, wire.as_ptr(), wire.len()) != 0 {
                return Err("alpn: refused".into());
            }
        }
        if let (true, Some(alps)) = (o.alps, &d.alps) {
            for p in alps.protocols.iter().filter(|p| alpn.contains(p)) {
                if sys::SSL_add_application_settings(ssl, p.as_ptr(), p.len(), std::ptr::null(), 0) != 1 {
                    return Err(format!("alps: refused \"{p}\"").into());
                }
            }
            sys::SSL_set_alps_use_new_codepoint(ssl, alps.new_codepoint as c_int);
        }
        if d.ech_grease {
            sys::SSL_set_enable_ech_grease(ssl, 1);
        }
        if o.verify {
            // Checked by verify::on_verify (the context's custom-verify hook).
            let store = crate::trust::store_for(o.ca_file.as_deref()).map_err(Failure::config)?;
            let host = if o.verify_hostname { Some((chost.clone(), ip)) } else { None };
            self.verify = Some(VerifyConfig { store, host });
        }
        Ok(())
    }

    /// Sets `session` to be offered by this connection. A profile without session_ticket on
    /// resumption (NSS: `ssl3_ClientSendSessionTicketXtn` sends nothing when the session being
    /// resumed is TLS 1.3) gets SSL_OP_NO_TICKET on this SSL only, and only when BoringSSL will
    /// really offer the session as a TLS 1.3 PSK. With that option BoringSSL leaves session_ticket
    /// out of the hello (`ext_ticket_add_clienthello`), still offers a TLS 1.3 session (only TLS
    /// 1.2 *ticket* sessions are dropped for it in `do_start_connect`, `should_offer_psk` does not
    /// look at it) and still takes the server's NewSessionTicket (`tls13_process_new_session_ticket`
    /// does not look at it either). A session BoringSSL would drop is not set at all, so a hello
    /// either offers a TLS 1.3 session without session_ticket or is a fresh hello with it.
    pub unsafe fn offer_session(&mut self, d: &ClientDefaults, session: *mut sys::SSL_SESSION, now: u64) {
        // A TLS 1.2 session keeps session_ticket: its ticket travels in that extension.
        if d.no_ticket_when_resuming && sys::SSL_SESSION_get_protocol_version(session) >= TLS1_3 {
            if !will_offer_psk(session, d.max_version, now) {
                return; // BoringSSL would drop it (expired, not resumable): a fresh hello.
            }
            sys::SSL_set_options(self.ssl, sys::SSL_OP_NO_TICKET as u32);
        }
        sys::SSL_set_session(self.ssl, session);
    }

    pub fn feed(&mut self, data: &[u8]) -> i32 {
        self.input.push(data);
        PB_OK
    }

    pub fn pending_output(&self) -> usize {
        self.output.len()
    }

    pub fn take_output(&mut self, out: &mut [u8]) -> i32 {
        let cap = out.len().min(i32::MAX as usize);
        self.output.pull(&mut out[..cap]) as i32
    }

    /// Maps a failed SSL call to a status, distinguishing certificate verification failures.
    unsafe fn error_status(&self, ret: c_int, what: &str) -> i32 {
        let e = sys::SSL_get_error(self.ssl, ret);
        if e == sys::SSL_ERROR_WANT_READ as c_int || e == sys::SSL_ERROR_WANT_WRITE as c_int {
            return 0;
        }
        if e == sys::SSL_ERROR_ZERO_RETURN as c_int {
            return PB_EOF;
        }
        if let Some(reason) = self.verify_error.as_ref() {
            take_ssl_errors();
            set_last_error(format!("certificate verify failed: {reason}"));
            return PB_ERR_VERIFY;
        }
        set_last_error(self.failure_reason(e, what));
        PB_ERR
    }

    /// "<what>: received alert <name>", "<what>: sent alert <name> (<reason>)" or
    /// "<what>: <BoringSSL reason>": the alert when one ended the connection, else the library's
    /// reason. Drains BoringSSL's error queue.
    unsafe fn failure_reason(&self, ssl_error: c_int, what: &str) -> String {
        let queued = take_ssl_errors();
        // A received alert shows in the queue only as a reason code without a useful string.
        if let Some(a) = self.alert_received {
            return format!("{what}: received alert {}", alert_name(a));
        }
        let reason = if queued.is_empty() { format!("TLS error {ssl_error}") } else { queued };
        match self.alert_sent {
            Some(a) => format!("{what}: sent alert {} ({reason})", alert_name(a)),
            None => format!("{what}: {reason}"),
        }
    }

    /// 1 = handshake complete, 0 = needs more input, < 0 = error.
    pub unsafe fn handshake(&mut self) -> i32 {
        let r = sys::SSL_do_handshake(self.ssl);
        if r == 1 {
            return 1;
        }
        self.error_status(r, "handshake")
    }

    /// > 0 = bytes read, 0 = needs more input, PB_EOF = close_notify, < 0 = error. Reads as
    /// many records as fit, so one call moves a whole burst (SSL_read returns one record).
    pub unsafe fn read(&mut self, out: &mut [u8]) -> i32 {
        let cap = out.len().min(i32::MAX as usize);
        let mut total = 0usize;
        while total < cap {
            let want = (cap - total) as c_int;
            let r = sys::SSL_read(self.ssl, out[total..].as_mut_ptr() as *mut c_void, want);
            if r > 0 {
                total += r as usize;
                continue;
            }
            if total > 0 {
                // Data first; an EOF or error shows again on the next call.
                break;
            }
            return self.error_status(r, "read");
        }
        total as i32
    }

    pub unsafe fn write(&mut self, data: &[u8]) -> i32 {
        if data.is_empty() {
            return 0;
        }
        let r = sys::SSL_write(self.ssl, data.as_ptr() as *const c_void, data.len().min(i32::MAX as usize) as c_int);
        if r > 0 {
            return r;
        }
        let s = self.error_status(r, "write");
        if s == 0 { fail(PB_ERR, "write: handshake not complete") } else { s }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        unsafe {
            sys::SSL_set_ex_data(self.ssl, ex_index(), std::ptr::null_mut());
            if !self.new_session.is_null() {
                sys::SSL_SESSION_free(self.new_session);
            }
            sys::SSL_free(self.ssl); // frees both BIOs before the pipes they point to
        }
    }
}

const TLS1_3: u16 = 0x0304;
/// How long after `pb_client_new` a session must still be valid (s): BoringSSL checks its age
/// again when the first `pb_handshake` writes the hello, which the proxy calls right after.
const SESSION_VALID_MARGIN_SECS: u64 = 1;

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Whether BoringSSL will offer the TLS 1.3 session `s` as a PSK: the checks of `do_start_connect` and
/// `should_offer_psk` (handshake_client.cc, extensions.cc) a stored client session can fail: a TLS
/// 1.3 session with a ticket (`ssl_session_get_type` = kPreSharedKey), a profile that offers TLS
/// 1.3, and `ssl_session_is_time_valid` still true `SESSION_VALID_MARGIN_SECS` from `now`.
unsafe fn will_offer_psk(s: *const sys::SSL_SESSION, max_version: u16, now: u64) -> bool {
    if max_version < TLS1_3 || sys::SSL_SESSION_is_resumable(s) != 1 {
        return false;
    }
    let born = sys::SSL_SESSION_get_time(s);
    let at = now + SESSION_VALID_MARGIN_SECS;
    now >= born && (sys::SSL_SESSION_get_timeout(s) as u64) > at - born
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientOptions {
    pub host: String,
    pub alpn: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub alps: bool,
    pub verify: bool,
    pub verify_hostname: bool,
    pub ca_file: Option<String>,
}

fn yes() -> bool {
    true
}
