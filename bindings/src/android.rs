//! Android only: gives rustls-platform-verifier the app's `Context`.
//!
//! On Android the platform verifier asks the system's `X509TrustManager` (through JNI and the
//! verifier's small Kotlin component) whether a chain is trusted, so user and MDM trust
//! settings, revocation and Certificate Transparency policy apply to RukaSec's connections as
//! to any other app's. It needs the JVM and a `Context` before the first handshake; without
//! them every HTTPS request fails. The app's Kotlin glue calls
//! `RukaSecAndroid.initPlatformVerifier(applicationContext)` once, at start, before creating an
//! `HttpsClient`.

use jni::EnvUnowned;
use jni::objects::{JClass, JObject};

/// JNI entry point of `com.rukapay.rukasec.RukaSecAndroid.initPlatformVerifier(Context)`.
/// A failure (no class loader, JNI error) is thrown to Kotlin as a `RuntimeException`; a
/// panic cannot cross into the JVM (`with_env` catches it).
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_rukapay_rukasec_RukaSecAndroid_initPlatformVerifier<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    env.with_env(|env| rustls_platform_verifier::android::init_with_env(env, context))
        .resolve::<jni::errors::ThrowRuntimeExAndDefault>();
}
