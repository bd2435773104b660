package com.rukapay.rukasec.android

import android.util.Log
import androidx.test.platform.app.InstrumentationRegistry
import com.rukapay.rukasec.DataClass
import com.rukapay.rukasec.KeyWrapperException
import com.rukapay.rukasec.RukaSec
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertThrows
import org.junit.Test
import java.io.File
import java.security.KeyStore

/**
 * [AndroidKeystoreKeyWrapper] on the device's real AndroidKeyStore (StrongBox when present,
 * else the TEE, or the emulator's software keystore): what Robolectric's stand-in cannot show.
 * Plain JUnit 4, run by AndroidJUnitRunner.
 */
class KeystoreKeyWrapperDeviceTest {
    private val context = InstrumentationRegistry.getInstrumentation().targetContext
    private val alias = "rukasec.device-test.${System.nanoTime()}"
    private val otherAlias = "$alias.other"

    @After
    fun deleteKeys() {
        KeyStore.getInstance(AndroidKeystoreKeyWrapper.ANDROID_KEY_STORE).apply { load(null) }.run {
            deleteEntry(alias)
            deleteEntry(otherAlias)
        }
    }

    @Test
    fun wrapAndUnwrapRoundTripUnderTheRealKeystore() {
        val wrapper = AndroidKeystoreKeyWrapper()
        wrapper.createKey(alias)
        val dataKey = ByteArray(32) { (it * 7).toByte() }
        // wrap() wipes the array it is given: hand it a copy.
        val wrapped = wrapper.wrap(alias, dataKey.copyOf())
        assertArrayEquals(dataKey, wrapper.unwrap(alias, wrapped))

        // The keystore's GCM tag covers the blob: one flipped bit and it does not open.
        val tampered = wrapped.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        assertThrows(KeyWrapperException.Rejected::class.java) { wrapper.unwrap(alias, tampered) }

        // Another alias's key (and AAD) does not open it either.
        wrapper.createKey(otherAlias)
        assertThrows(KeyWrapperException.Rejected::class.java) { wrapper.unwrap(otherAlias, wrapped) }

        // A deleted key is reported as missing, not as a broken keystore.
        wrapper.deleteKey(alias)
        assertThrows(KeyWrapperException.KeyNotFound::class.java) { wrapper.unwrap(alias, wrapped) }
    }

    @Test
    fun isHardwareBackedIsAnsweredAndReported() {
        // No assertion on the value: phones answer true (TEE or StrongBox), most emulator images
        // false. It is logged for the run's record (`adb logcat -s RukaSecDeviceTest`).
        val hardware = AndroidKeystoreKeyWrapper().isHardwareBacked()
        val strongBoxOnly = AndroidKeystoreKeyWrapper(preferStrongBox = false).isHardwareBacked()
        Log.i(TAG, "isHardwareBacked=$hardware (TEE only: $strongBoxOnly) on ${android.os.Build.MODEL}, API ${android.os.Build.VERSION.SDK_INT}")
    }

    @Test
    fun aVaultOnTheKeystoreStoresAndReadsBack() {
        val dir = File(context.cacheDir, "vault-${System.nanoTime()}")
        val anchors = AndroidRollbackAnchorStore(File(context.cacheDir, "anchors-${System.nanoTime()}"))
        try {
            RukaSec(null).use { core ->
                core.openVault(dir.path, AndroidKeystoreKeyWrapper(), anchors).use { vault ->
                    vault.put("device-test", "ns", "item", byteArrayOf(1, 2, 3), DataClass.CONFIDENTIAL, null)
                    assertArrayEquals(byteArrayOf(1, 2, 3), vault.get("device-test", "ns", "item"))
                    vault.deleteAccount("device-test") // crypto-shredding removes its keystore key too
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    }

    private companion object {
        const val TAG = "RukaSecDeviceTest"
    }
}
