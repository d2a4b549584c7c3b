//! The panic boundary and the string conventions shared by every export.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::{c_char, CStr, CString};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, Once};

use once_cell::sync::Lazy;

use crate::envelope::{self, ErrorBody};

thread_local! {
    /// Message and location of the last panic on this thread, for the error envelope.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static QUIET_PANIC_HOOK: Once = Once::new();

/// Records panics instead of printing them into the user's console; the envelope carries
/// the message. `SSMSESSION_DEBUG_PANICS=1` in the process environment keeps the default
/// output as well.
fn install_panic_hook() {
    QUIET_PANIC_HOOK.call_once(|| {
        let default_hook = panic::take_hook();
        let show = std::env::var_os("SSMSESSION_DEBUG_PANICS").is_some();
        panic::set_hook(Box::new(move |info| {
            let message = panic_text(info.payload());
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
            if show {
                default_hook(info);
            }
        }));
    });
}

/// The message a panic carried (a `&str` or a `String`, as `panic!` makes them).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "unknown panic payload".to_owned(),
    }
}

/// Runs `handler` on the UTF-8 text behind `input` and returns an owned envelope string.
/// NULL, invalid UTF-8 and panics become error envelopes.
///
/// # Safety
/// `input` must be NULL or point to a NUL-terminated string that stays valid and unmodified
/// until this function returns.
pub unsafe fn json_call(
    input: *const c_char,
    handler: fn(&str) -> Result<serde_json::Value, ErrorBody>,
) -> *mut c_char {
    // SAFETY: same contract as this function's.
    unsafe {
        envelope_call(input, |text| match handler(text) {
            Ok(data) => envelope::success(data),
            Err(error) => envelope::failure(error),
        })
    }
}

/// Like [`json_call`] for handlers that produce the whole envelope text themselves.
///
/// # Safety
/// `input` must be NULL or point to a NUL-terminated string that stays valid and unmodified
/// until this function returns.
pub unsafe fn envelope_call(
    input: *const c_char,
    handler: impl FnOnce(&str) -> String,
) -> *mut c_char {
    install_panic_hook();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        if input.is_null() {
            return Err(ErrorBody::invalid_request(
                "NullPointer",
                "The request pointer is NULL.",
            ));
        }
        // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string that outlives
        // this call.
        let bytes = unsafe { CStr::from_ptr(input) }.to_bytes();
        let text = std::str::from_utf8(bytes).map_err(|e| {
            ErrorBody::invalid_request(
                "InvalidUtf8",
                format!(
                    "The request is not valid UTF-8 (invalid byte at offset {}).",
                    e.valid_up_to()
                ),
            )
        })?;
        Ok(handler(text))
    }));
    let text = match outcome {
        Ok(Ok(text)) => text,
        Ok(Err(error)) => envelope::failure(error),
        Err(_) => {
            let detail = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "no panic message".to_owned());
            envelope::failure(ErrorBody::panic(detail))
        }
    };
    into_c_string(text)
}

/// Addresses of the strings handed out and not released yet: the free function releases
/// only these, so a double free or a foreign pointer is ignored instead of corrupting the
/// heap of the caller's process.
static LIVE_STRINGS: Lazy<Mutex<HashSet<usize>>> = Lazy::new(Default::default);

fn live_strings() -> MutexGuard<'static, HashSet<usize>> {
    // Single inserts and removals cannot leave the set half-updated: a poisoned lock is
    // still consistent.
    LIVE_STRINGS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Hands a string to the caller. JSON text never contains NUL (serde_json escapes it), so
/// the fallback only guards the invariant.
fn into_c_string(text: String) -> *mut c_char {
    let raw = CString::new(text)
        .unwrap_or_else(|_| {
            CString::from(
                c"{\"Ok\":false,\"Error\":{\"Kind\":\"internal\",\"Code\":\"InteriorNul\",\"Message\":\"The response contained a NUL byte.\",\"RequestId\":null,\"HttpStatus\":null}}",
            )
        })
        .into_raw();
    live_strings().insert(raw as usize);
    raw
}

/// How many strings are handed out and not yet released (for leak checks in tests).
pub fn live_string_count() -> usize {
    live_strings().len()
}

/// Frees a string made by [`json_call`], once; anything else is ignored.
///
/// # Safety
/// `value` must be NULL or a pointer value. It is dereferenced only when it is one of the
/// strings handed out and not yet released.
pub unsafe fn release_string(value: *mut c_char) {
    if value.is_null() {
        return;
    }
    // Removing it first makes a second release (or a concurrent one) find nothing.
    if !live_strings().remove(&(value as usize)) {
        return;
    }
    // Dropping a CString cannot panic; the boundary is kept so no unwind can ever cross.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the address was in LIVE_STRINGS, so it came from CString::into_raw in
        // into_c_string and has not been released: this is its one release.
        drop(unsafe { CString::from_raw(value) });
    }));
}
