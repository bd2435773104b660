package com.rukapay.rukasec

import org.junit.jupiter.api.extension.BeforeEachCallback
import org.junit.jupiter.api.extension.ExtensionContext
import java.io.File

/**
 * Which variants of the exported error enums these tests really reach, one line per reach
 * (`TlsError.PinMismatch<TAB>TlsTest.method`), appended to the file named by the system
 * property `rukasec.reachedErrors` (tests/kotlin/pom.xml). scripts/check-error-reach.sh prints
 * the table (variant, test) from it and fails when a variant of bindings/src is never reached.
 *
 * An error counts when a test catches it from a call into Rust ([assertThrows] below), or when a
 * Kotlin callback throws it into Rust ([thrownIntoRust]): recorded at run time, not read from
 * the source, so a test that never gets there does not count.
 */
object ErrorReach {
    private val file: File? = System.getProperty("rukasec.reachedErrors")?.takeIf { it.isNotBlank() }?.let(::File)

    /** The running test, `Class.method`, set by [ErrorReachExtension] before each test. */
    @Volatile
    var currentTest: String = "?"

    /** `TlsError.PinMismatch` for a `TlsException.PinMismatch`; null for errors not of ours. */
    fun variantOf(error: Throwable): String? {
        val type = error::class.java
        val enclosing = type.enclosingClass ?: return null
        if (type.`package`?.name != "com.rukapay.rukasec" || !enclosing.simpleName.endsWith("Exception")) return null
        return enclosing.simpleName.removeSuffix("Exception") + "Error." + type.simpleName
    }

    fun record(error: Throwable) {
        val variant = variantOf(error) ?: return
        val target = file ?: return
        synchronized(this) { target.appendText("$variant\t$currentTest\n") }
    }
}

/** Names the running test for [ErrorReach] (registered for every class by autodetection). */
class ErrorReachExtension : BeforeEachCallback {
    override fun beforeEach(context: ExtensionContext) {
        ErrorReach.currentTest = "${context.requiredTestClass.simpleName}.${context.requiredTestMethod.name}"
    }
}

/**
 * JUnit's `assertThrows`, recording the caught error for [ErrorReach]. Declared in this package so
 * every test here uses it (no test imports JUnit's own). A `KeyWrapperException` caught here came
 * from a Kotlin wrapper called directly, not from Rust: it counts only through [thrownIntoRust].
 */
inline fun <reified T : Throwable> assertThrows(noinline executable: () -> Unit): T =
    org.junit.jupiter.api.assertThrows<T>(executable).also { if (it !is KeyWrapperException) ErrorReach.record(it) }

/**
 * Returns [error] for a Kotlin callback to throw, recording it when Rust called the callback
 * (a JNA callback frame on the stack): the error then crosses the boundary into the core.
 */
fun <E : Throwable> thrownIntoRust(error: E): E {
    if (Thread.currentThread().stackTrace.any { it.className.startsWith("com.sun.jna.CallbackReference") }) {
        ErrorReach.record(error)
    }
    return error
}
