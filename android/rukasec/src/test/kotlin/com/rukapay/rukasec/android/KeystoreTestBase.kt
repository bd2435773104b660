package com.rukapay.rukasec.android

import com.rukapay.rukasec.RukaSec
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Before
import org.junit.Rule
import org.junit.rules.TemporaryFolder

/**
 * What the glue's Robolectric tests share: a fresh [FakeAndroidKeyStore] and a core per test,
 * a temporary folder, and [await] for the suspending calls (bounded, so a hang fails the test).
 * Subclasses carry `@RunWith(RobolectricTestRunner::class)`.
 */
abstract class KeystoreTestBase {
    @get:Rule
    val temp = TemporaryFolder()

    protected lateinit var core: RukaSec

    @Before
    fun startKeystoreAndCore() {
        FakeAndroidKeyStore.install()
        core = RukaSec(null)
    }

    @After
    fun stopCore() {
        core.close()
    }

    protected fun <T> await(block: suspend () -> T): T = runBlocking { withTimeout(WAIT_MS) { block() } }

    companion object {
        /** How long a suspending call may take before the test fails instead of hanging. */
        const val WAIT_MS = 10_000L
    }
}
