//! Process limits the proxy needs: every tunnel holds two sockets, so the default soft limit on
//! open files (often 1024) caps it at a few hundred tunnels.

use crate::error::{set_last_error, PB_ERR};

/// macOS refuses an unlimited RLIMIT_NOFILE soft limit; OPEN_MAX (10240, <sys/syslimits.h>) is
/// the most setrlimit accepts there.
#[cfg(target_os = "macos")]
const UNLIMITED_CAP: libc::rlim_t = 10240;
/// Linux never reports an unlimited hard limit for open files (it is bounded by fs.nr_open);
/// this cap only guards against a surprising answer.
#[cfg(not(target_os = "macos"))]
const UNLIMITED_CAP: libc::rlim_t = 1 << 20;

fn errno_text(call: &str) -> String {
    format!("{call}(RLIMIT_NOFILE): {}", std::io::Error::last_os_error())
}

/// Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit now in force, or
/// PB_ERR with the reason in pb_last_error.
#[no_mangle]
pub extern "C" fn pb_raise_nofile_limit() -> i64 {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        set_last_error(errno_text("getrlimit"));
        return PB_ERR as i64;
    }
    let target = if rl.rlim_max == libc::RLIM_INFINITY { UNLIMITED_CAP } else { rl.rlim_max };
    if target > rl.rlim_cur {
        let want = libc::rlimit { rlim_cur: target, rlim_max: rl.rlim_max };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } != 0 {
            set_last_error(errno_text("setrlimit"));
            return PB_ERR as i64;
        }
        rl.rlim_cur = target;
    }
    rl.rlim_cur.min(i64::MAX as libc::rlim_t) as i64
}
