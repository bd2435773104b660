package com.rukapay.rukasec.android

import android.security.keystore.KeyProperties
import com.rukapay.rukasec.DataClass
import com.rukapay.rukasec.KeyWrapperException
import com.rukapay.rukasec.VaultException
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import java.io.File

/**
 * [AndroidKeystoreKeyWrapper] and [AndroidRollbackAnchorStore] against the stand-in keystore
 * ([FakeAndroidKeyStore]), alone and as the keystore of a real vault through the bindings.
 */
@RunWith(RobolectricTestRunner::class)
class KeystoreKeyWrapperTest : KeystoreTestBase() {
    private val key = ByteArray(32) { (it * 7).toByte() }

    @Test
    fun `a wrapped key unwraps under its alias only, and tampering is Rejected`() {
        val wrapper = AndroidKeystoreKeyWrapper()
        wrapper.createKey("kek.alice")
        wrapper.createKey("kek.bob")
        val wrapped = wrapper.wrap("kek.alice", key.copyOf())
        assertEquals(12 + 32 + 16, wrapped.size)
        assertArrayEquals(key, wrapper.unwrap("kek.alice", wrapped))
        // The keystore chose the nonce: two wraps differ.
        assertFalse(wrapped.contentEquals(wrapper.wrap("kek.alice", key.copyOf())))

        assertThrows(KeyWrapperException.Rejected::class.java) { wrapper.unwrap("kek.bob", wrapped) }
        for (index in listOf(0, 12, wrapped.size - 1)) {
            val tampered = wrapped.copyOf().also { it[index] = (it[index].toInt() xor 1).toByte() }
            assertThrows(KeyWrapperException.Rejected::class.java) { wrapper.unwrap("kek.alice", tampered) }
        }
        assertThrows(KeyWrapperException.Rejected::class.java) { wrapper.unwrap("kek.alice", wrapped.copyOf(20)) }
        assertThrows(KeyWrapperException.KeyNotFound::class.java) { wrapper.unwrap("kek.nobody", wrapped) }
        assertThrows(KeyWrapperException.KeyNotFound::class.java) { wrapper.wrap("kek.nobody", key.copyOf()) }

        wrapper.deleteKey("kek.alice")
        wrapper.deleteKey("kek.alice")  // a missing key is not an error
        assertThrows(KeyWrapperException.KeyNotFound::class.java) { wrapper.unwrap("kek.alice", wrapped) }
    }

    @Test
    fun `wrap wipes the caller's copy of the key`() {
        val wrapper = AndroidKeystoreKeyWrapper()
        wrapper.createKey("kek")
        val copy = key.copyOf()
        wrapper.wrap("kek", copy)
        assertTrue(copy.all { it == 0.toByte() })
    }

    @Test
    fun `keys are AES-256-GCM with randomized encryption, in StrongBox when there is one`() {
        FakeAndroidKeyStore.strongBoxAvailable = true
        AndroidKeystoreKeyWrapper().createKey("kek")
        val spec = FakeAndroidKeyStore.attempts.single()
        assertEquals("kek", spec.keystoreAlias)
        assertEquals(256, spec.keySize)
        assertEquals(KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT, spec.purposes)
        assertArrayEquals(arrayOf(KeyProperties.BLOCK_MODE_GCM), spec.blockModes)
        assertArrayEquals(arrayOf(KeyProperties.ENCRYPTION_PADDING_NONE), spec.encryptionPaddings)
        assertTrue(spec.isRandomizedEncryptionRequired)
        assertTrue(spec.isStrongBoxBacked)
        assertFalse(spec.isUserAuthenticationRequired)
    }

    @Test
    fun `without StrongBox the key is made in the TEE, and preferStrongBox false does not ask`() {
        val wrapper = AndroidKeystoreKeyWrapper()
        wrapper.createKey("kek")
        val (first, second) = FakeAndroidKeyStore.attempts.toList()
        assertTrue(first.isStrongBoxBacked)
        assertFalse(second.isStrongBoxBacked)
        assertEquals(2, FakeAndroidKeyStore.attempts.size)
        assertArrayEquals(key, wrapper.unwrap("kek", wrapper.wrap("kek", key.copyOf())))

        FakeAndroidKeyStore.attempts.clear()
        AndroidKeystoreKeyWrapper(preferStrongBox = false).createKey("tee")
        assertFalse(FakeAndroidKeyStore.attempts.single().isStrongBoxBacked)
    }

    @Test
    fun `createKey replaces the alias's key`() {
        val wrapper = AndroidKeystoreKeyWrapper()
        wrapper.createKey("kek")
        val wrapped = wrapper.wrap("kek", key.copyOf())
        wrapper.createKey("kek")
        assertThrows(KeyWrapperException.Rejected::class.java) { wrapper.unwrap("kek", wrapped) }
    }

    @Test
    fun `an invalidated keystore key is KeyInvalidated`() {
        val wrapper = AndroidKeystoreKeyWrapper()
        wrapper.createKey("kek")
        val wrapped = wrapper.wrap("kek", key.copyOf())
        FakeAndroidKeyStore.invalidate("kek")
        assertThrows(KeyWrapperException.KeyInvalidated::class.java) { wrapper.unwrap("kek", wrapped) }
        assertThrows(KeyWrapperException.KeyInvalidated::class.java) { wrapper.wrap("kek", key.copyOf()) }
    }

    @Test
    fun `isHardwareBacked reads the probe key's security level, once, and leaves no probe behind`() {
        val asked = mutableListOf<String>()
        val tee = AndroidKeystoreKeyWrapper(securityLevel = { asked += (it as FakeSecretKey).alias; KeyProperties.SECURITY_LEVEL_TRUSTED_ENVIRONMENT })
        assertTrue(tee.isHardwareBacked())
        assertTrue(tee.isHardwareBacked())
        assertEquals(1, asked.size)
        assertTrue(FakeAndroidKeyStore.aliases().isEmpty())
        val software = AndroidKeystoreKeyWrapper(securityLevel = { KeyProperties.SECURITY_LEVEL_SOFTWARE })
        assertFalse(software.isHardwareBacked())
        val strongBox = AndroidKeystoreKeyWrapper(securityLevel = { KeyProperties.SECURITY_LEVEL_STRONGBOX })
        assertTrue(strongBox.isHardwareBacked())
    }

    @Test
    fun `a vault on the Android keystore stores, reopens, and reports hardware`() {
        val dir = temp.newFolder("vault")
        val wrapper = AndroidKeystoreKeyWrapper(securityLevel = { KeyProperties.SECURITY_LEVEL_STRONGBOX })
        core.openVault(dir.path, wrapper).use { vault ->
            vault.put("alice", "wallet", "token", "t-1".toByteArray(), DataClass.CONFIDENTIAL, null)
            assertTrue(vault.isHardwareBacked())
        }
        assertTrue(FakeAndroidKeyStore.aliases().isNotEmpty())
        core.openVault(dir.path, wrapper).use { vault ->
            assertArrayEquals("t-1".toByteArray(), vault.get("alice", "wallet", "token"))
        }
        // The keystore lost its keys (app data cleared on another device, key deleted): unreadable.
        FakeAndroidKeyStore.aliases().forEach { wrapper.deleteKey(it) }
        core.openVault(dir.path, wrapper).use { vault ->
            assertThrows(VaultException::class.java) { vault.get("alice", "wallet", "token") }
        }
    }

    @Test
    fun `anchors round trip in noBackupFilesDir, sealed by the keystore`() {
        val store = AndroidRollbackAnchorStore(RuntimeEnvironment.getApplication())
        val dir = File(RuntimeEnvironment.getApplication().noBackupFilesDir, AndroidRollbackAnchorStore.DIRECTORY)
        assertNull(store.load("rukasec.anchor.v2.a"))
        store.store("rukasec.anchor.v2.a", 41)
        store.store("rukasec.anchor.v2.a", 42)
        store.store("rukasec.anchor.v2.b", 7)
        assertEquals(42L, store.load("rukasec.anchor.v2.a"))
        assertEquals(7L, store.load("rukasec.anchor.v2.b"))
        val files = dir.listFiles()!!.map { it.name }.sorted()
        assertEquals(2, files.size)
        assertTrue(files.all { it.endsWith(".anchor") })
        // The value is not in the file in the clear.
        assertFalse(dir.listFiles()!!.any { f -> f.readBytes().let { b -> b.size >= 8 && b.copyOfRange(0, 8).contentEquals(byteArrayOf(0, 0, 0, 0, 0, 0, 0, 42)) } })
        assertEquals(AndroidRollbackAnchorStore.SEAL_ALIAS, FakeAndroidKeyStore.aliases().single())
        store.delete("rukasec.anchor.v2.a")
        store.delete("rukasec.anchor.v2.a")
        assertNull(store.load("rukasec.anchor.v2.a"))
        assertThrows(KeyWrapperException.Failed::class.java) { store.store("x", -1) }
    }

    @Test
    fun `an edited, swapped or orphaned anchor file is Rejected`() {
        val dir = temp.newFolder("anchors")
        val store = AndroidRollbackAnchorStore(dir)
        store.store("a", 5)
        store.store("b", 9)
        val fileA = File(dir, "61.anchor")
        val fileB = File(dir, "62.anchor")
        val original = fileA.readBytes()

        fileA.writeBytes(original.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() })
        assertThrows(KeyWrapperException.Rejected::class.java) { store.load("a") }
        // B's sealed value under A's name: the name is sealed with the value.
        fileA.writeBytes(fileB.readBytes())
        assertThrows(KeyWrapperException.Rejected::class.java) { store.load("a") }
        fileA.writeBytes(original)
        assertEquals(5L, store.load("a"))
        // The seal key is gone (a file copied from another device): not believed.
        AndroidKeystoreKeyWrapper().deleteKey(AndroidRollbackAnchorStore.SEAL_ALIAS)
        assertThrows(KeyWrapperException.Rejected::class.java) { store.load("a") }
    }

    @Test
    fun `a restored copy of the vault's files is refused with the Android anchor store`() {
        val dir = temp.newFolder("anchored")
        val wrapper = AndroidKeystoreKeyWrapper()
        val anchors = AndroidRollbackAnchorStore(temp.newFolder("no-backup"))
        val database = File(dir, "vault.sqlite3")
        core.openVault(dir.path, wrapper, anchors).use {
            it.put("alice", "wallet", "balance", "1000".toByteArray(), DataClass.CONFIDENTIAL, null)
        }
        val backup = database.readBytes()
        core.openVault(dir.path, wrapper, anchors).use {
            it.put("alice", "wallet", "balance", "0".toByteArray(), DataClass.CONFIDENTIAL, null)
        }
        File(dir, "vault.sqlite3-wal").delete()
        File(dir, "vault.sqlite3-shm").delete()
        database.writeBytes(backup)
        core.openVault(dir.path, wrapper, anchors).use {
            assertThrows(VaultException.Integrity::class.java) { it.get("alice", "wallet", "balance") }
        }
    }
}
