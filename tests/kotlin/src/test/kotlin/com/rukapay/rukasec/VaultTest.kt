package com.rukapay.rukasec

import java.nio.file.Files
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.security.SecureRandom
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/**
 * `RukaSec.openVault` and `Vault` through the generated bindings, with a Kotlin [KeyWrapper]
 * ([AesGcmKeyWrapper]). Tests the binding (values, lists, records, errors, callbacks, events),
 * not the vault's cryptography, which the Rust suite covers.
 */
class VaultTest {
    @TempDir
    lateinit var dir: File

    private lateinit var listener: RecordingListener
    private lateinit var core: RukaSec
    private lateinit var wrapper: AesGcmKeyWrapper
    private lateinit var vault: Vault

    @BeforeEach
    fun open() {
        listener = RecordingListener()
        core = RukaSec(listener)
        wrapper = AesGcmKeyWrapper()
        vault = core.openVault(dir.absolutePath, wrapper)
    }

    @AfterEach
    fun close() {
        vault.close()
        core.close()
    }

    /** Every event of `kind` emitted so far (after waiting for delivery). */
    private fun events(kind: SecurityEventKind): List<SecurityEvent> {
        assertTrue(core.flushEvents(WAIT_MS), "events not delivered within $WAIT_SECONDS s")
        return listener.events.filter { it.kind == kind }
    }

    @Test
    fun `binary values round-trip in every data class`() {
        // Every byte value, a NUL-heavy value, an empty value and one of 64 KiB.
        val values = listOf(
            ByteArray(256) { it.toByte() },
            ByteArray(17),
            ByteArray(0),
            randomBytes(64 * 1024),
        )
        for (dataClass in DataClass.entries) {
            values.forEachIndexed { i, value ->
                vault.put(ALICE, "ns", "${dataClass.name}-$i", value.copyOf(), dataClass, null)
            }
        }
        for (dataClass in DataClass.entries) {
            values.forEachIndexed { i, value ->
                val name = "${dataClass.name}-$i"
                assertArrayEquals(value, vault.get(ALICE, "ns", name), name)
            }
        }
        // The bytes passed to put belong to the caller: changing them later changes nothing.
        val value = byteArrayOf(1, 2, 3)
        vault.put(ALICE, "ns", "mine", value, DataClass.RESTRICTED, null)
        value.fill(9)
        assertArrayEquals(byteArrayOf(1, 2, 3), vault.get(ALICE, "ns", "mine"))
    }

    @Test
    fun `put replaces and non-ASCII ids work`() {
        vault.put(ALICE, "prefs", "thème ☕", byteArrayOf(1), DataClass.PUBLIC, null)
        vault.put(ALICE, "prefs", "thème ☕", byteArrayOf(2, 2), DataClass.INTERNAL, null)
        assertArrayEquals(byteArrayOf(2, 2), vault.get(ALICE, "prefs", "thème ☕"))
        assertEquals(listOf("thème ☕"), vault.list(ALICE, "prefs"))
    }

    @Test
    fun `isHardwareBacked asks the app's wrapper`() {
        assertFalse(vault.isHardwareBacked())
        val calls = wrapper.isHardwareBackedCalls
        assertTrue(calls >= 1)
        val dir = Files.createTempDirectory("rukasec-hw")
        try {
            core.openVault(dir.toString(), AesGcmKeyWrapper(hardwareBacked = true)).use { strongBox ->
                assertTrue(strongBox.isHardwareBacked())
            }
        } finally {
            dir.toFile().deleteRecursively()
        }
    }

    @Test
    fun `missing values are null, not errors`() {
        // Unknown account: nothing was created for it.
        assertNull(vault.get("nobody", "ns", "x"))
        assertFalse(vault.contains("nobody", "ns", "x"))
        assertFalse(vault.delete("nobody", "ns", "x"))
        assertEquals(emptyList<String>(), vault.list("nobody", "ns"))
        assertTrue(wrapper.created.isEmpty(), "reads created keys: ${wrapper.created}")
        // Known account, unknown name or namespace.
        vault.put(ALICE, "ns", "there", byteArrayOf(1), DataClass.PUBLIC, null)
        assertNull(vault.get(ALICE, "ns", "absent"))
        assertNull(vault.get(ALICE, "other", "there"))
        assertNull(vault.get(BOB, "ns", "there"))
    }

    @Test
    fun `list, contains and delete`() {
        for (name in listOf("b", "c", "a")) {
            vault.put(ALICE, "cards", name, name.toByteArray(), DataClass.CONFIDENTIAL, null)
        }
        vault.put(ALICE, "other", "z", byteArrayOf(0), DataClass.PUBLIC, null)
        vault.put(ALICE, "", "in-empty-namespace", byteArrayOf(0), DataClass.PUBLIC, null)

        assertEquals(listOf("a", "b", "c"), vault.list(ALICE, "cards"), "sorted, this namespace only")
        assertEquals(listOf("z"), vault.list(ALICE, "other"))
        assertEquals(listOf("in-empty-namespace"), vault.list(ALICE, ""))
        assertTrue(vault.contains(ALICE, "cards", "b"))
        assertFalse(vault.contains(ALICE, "other", "b"))

        assertTrue(vault.delete(ALICE, "cards", "b"))
        assertFalse(vault.delete(ALICE, "cards", "b"), "second delete")
        assertFalse(vault.contains(ALICE, "cards", "b"))
        assertNull(vault.get(ALICE, "cards", "b"))
        assertEquals(listOf("a", "c"), vault.list(ALICE, "cards"))
    }

    @Test
    fun `putBatch stores 100 items across classes`() {
        val items = List(100) { i ->
            VaultItem(
                namespace = "batch",
                name = "item-%03d".format(i),
                value = "value $i".toByteArray(),
                dataClass = DataClass.entries[i % DataClass.entries.size],
                ttlSeconds = if (i % 10 == 0) 3600L else null,
            )
        }
        vault.putBatch(ALICE, items)

        assertEquals(items.map { it.name }, vault.list(ALICE, "batch"))
        for (item in items) {
            assertArrayEquals(item.value, vault.get(ALICE, "batch", item.name), item.name)
        }
        // An empty batch is fine too.
        vault.putBatch(ALICE, emptyList())
        assertEquals(100, vault.list(ALICE, "batch").size)
    }

    @Test
    fun `putBatch with one invalid item stores nothing`() {
        val good = VaultItem("batch", "good", byteArrayOf(1), DataClass.PUBLIC, null)
        val bad = good.copy(name = "")
        val error = assertThrows<VaultException.InvalidInput> { vault.putBatch(ALICE, listOf(good, bad)) }
        assertTrue(error.reason.isNotBlank())
        assertNull(vault.get(ALICE, "batch", "good"))
    }

    @Test
    fun `values survive closing and reopening the vault with the same wrapper`() {
        vault.put(ALICE, "ns", "kept", byteArrayOf(4, 2), DataClass.RESTRICTED, null)
        vault.close()
        val unwrapsBefore = wrapper.unwrapCalls
        vault = core.openVault(dir.absolutePath, wrapper)
        assertArrayEquals(byteArrayOf(4, 2), vault.get(ALICE, "ns", "kept"))
        // The new vault had to unwrap the account's keys through the Kotlin wrapper.
        assertTrue(wrapper.unwrapCalls > unwrapsBefore, "no unwrap call after reopening")
    }

    @Test
    fun `rotateDek reports the re-encrypted items and values stay readable`() {
        repeat(5) { i -> vault.put(ALICE, "ns", "conf-$i", byteArrayOf(i.toByte()), DataClass.CONFIDENTIAL, null) }
        repeat(3) { i -> vault.put(ALICE, "ns", "pub-$i", byteArrayOf(i.toByte()), DataClass.PUBLIC, null) }

        val report = vault.rotateDek(ALICE, DataClass.CONFIDENTIAL)
        assertEquals(RotationReport(activeVersion = 2, reencrypted = 5L, complete = true), report)

        repeat(5) { i -> assertArrayEquals(byteArrayOf(i.toByte()), vault.get(ALICE, "ns", "conf-$i")) }
        repeat(3) { i -> assertArrayEquals(byteArrayOf(i.toByte()), vault.get(ALICE, "ns", "pub-$i")) }

        // A class without items rotates too, with nothing to re-encrypt.
        assertEquals(RotationReport(2, 0L, true), vault.rotateDek(ALICE, DataClass.RESTRICTED))
        assertEquals(3L, vault.rotateDek(ALICE, DataClass.CONFIDENTIAL).activeVersion)

        val rotated = events(SecurityEventKind.VAULT_KEY_ROTATED)
        assertEquals(3, rotated.size, "events: $rotated")
        assertTrue(rotated.all { it.details["key"] == "dek" }, "events: $rotated")
    }

    @Test
    fun `rotateDek and rotateKek of an unknown account throw InvalidInput`() {
        assertTrue(assertThrows<VaultException.InvalidInput> { vault.rotateDek("nobody", DataClass.PUBLIC) }.reason.isNotBlank())
        assertTrue(assertThrows<VaultException.InvalidInput> { vault.rotateKek("nobody") }.reason.isNotBlank())
    }

    @Test
    fun `rotateKek creates a new alias in the wrapper and deletes the old one`() {
        vault.put(ALICE, "ns", "v", byteArrayOf(7), DataClass.RESTRICTED, null)
        val idKey = idKeyAlias(wrapper.created)
        val first = kekAlias(wrapper.created)
        assertEquals(listOf(idKey, first), wrapper.created.toList(), "the vault's id key, then one KEK per account")
        assertTrue(first.endsWith(".1"), "version 1 first: $first")

        vault.rotateKek(ALICE)

        val second = first.removeSuffix(".1") + ".2"
        assertEquals(listOf(idKey, first, second), wrapper.created.toList())
        assertEquals(listOf(first), wrapper.deleted.toList())
        assertEquals(setOf(idKey, second), wrapper.aliases)
        assertArrayEquals(byteArrayOf(7), vault.get(ALICE, "ns", "v"))

        // Also readable by a new vault, whose keys are unwrapped with the new KEK only.
        core.openVault(dir.absolutePath, wrapper).use { reopened ->
            assertArrayEquals(byteArrayOf(7), reopened.get(ALICE, "ns", "v"))
        }
        val rotated = events(SecurityEventKind.VAULT_KEY_ROTATED).single()
        assertEquals("kek", rotated.details["key"], "details: ${rotated.details}")
        assertEquals("true", rotated.details["old_kek_destroyed"], "details: ${rotated.details}")
    }

    @Test
    fun `deleteAccount deletes the wrapper key and the values, other accounts remain`() {
        vault.put(ALICE, "ns", "a", byteArrayOf(1), DataClass.CONFIDENTIAL, null)
        val aliceAlias = kekAlias(wrapper.created)
        vault.put(BOB, "ns", "b", byteArrayOf(2), DataClass.CONFIDENTIAL, null)
        val bobAlias = kekAlias(wrapper.created.filter { it != aliceAlias })
        val idKey = idKeyAlias(wrapper.created)
        assertEquals(setOf(idKey, aliceAlias, bobAlias), wrapper.aliases)

        assertTrue(vault.deleteAccount(ALICE))

        assertEquals(listOf(aliceAlias), wrapper.deleted.toList())
        assertEquals(setOf(idKey, bobAlias), wrapper.aliases, "the id key stays for the other accounts")
        assertNull(vault.get(ALICE, "ns", "a"))
        assertEquals(emptyList<String>(), vault.list(ALICE, "ns"))
        assertArrayEquals(byteArrayOf(2), vault.get(BOB, "ns", "b"))
        assertFalse(vault.deleteAccount(ALICE), "second delete")

        val deleted = events(SecurityEventKind.VAULT_ACCOUNT_DELETED).single()
        assertEquals("delete", deleted.details["mode"], "details: ${deleted.details}")
    }

    @Test
    fun `empty ids throw InvalidInput with a reason`() {
        val errors = listOf(
            assertThrows<VaultException.InvalidInput> { vault.put(ALICE, "ns", "", byteArrayOf(1), DataClass.PUBLIC, null) },
            assertThrows<VaultException.InvalidInput> { vault.get(ALICE, "ns", "") },
            assertThrows<VaultException.InvalidInput> { vault.put("", "ns", "x", byteArrayOf(1), DataClass.PUBLIC, null) },
            assertThrows<VaultException.InvalidInput> { vault.list("", "ns") },
        )
        for (error in errors) {
            assertTrue(error.reason.isNotBlank(), "blank reason: $error")
            assertTrue(error.reason in (error.message ?: ""), "message: ${error.message}")
        }
        // An error is a VaultException and leaves the vault usable.
        val caught: VaultException = assertThrows { vault.contains(ALICE, "ns", "") }
        assertTrue(caught is VaultException.InvalidInput, "got $caught")
        vault.put(ALICE, "ns", "x", byteArrayOf(1), DataClass.PUBLIC, null)
        assertArrayEquals(byteArrayOf(1), vault.get(ALICE, "ns", "x"))
    }

    @Test
    fun `openVault on a path that is a file throws Storage`() {
        val file = File(dir, "not-a-dir").apply { writeText("x") }
        val error = assertThrows<VaultException.Storage> { core.openVault(file.absolutePath, wrapper) }
        assertTrue(error.reason.isNotBlank())
    }

    @Test
    fun `a KEK deleted behind the vault's back gives KeyUnavailable, an event, and resetAccount recovers`() {
        vault.put(ALICE, "ns", "old", byteArrayOf(1), DataClass.RESTRICTED, null)
        val aliceAlias = kekAlias(wrapper.created)
        vault.put(BOB, "ns", "b", byteArrayOf(2), DataClass.RESTRICTED, null)
        vault.close()
        wrapper.deleteKey(aliceAlias)
        // A new vault on the same directory: the account's keys are not cached.
        vault = core.openVault(dir.absolutePath, wrapper)

        val error = assertThrows<VaultException.KeyUnavailable> { vault.get(ALICE, "ns", "old") }
        assertTrue(error.reason.isNotBlank())
        assertThrows<VaultException.KeyUnavailable> {
            vault.put(ALICE, "ns", "new", byteArrayOf(3), DataClass.RESTRICTED, null)
        }
        val unavailable = events(SecurityEventKind.VAULT_KEY_UNAVAILABLE)
        assertTrue(unavailable.isNotEmpty(), "no VAULT_KEY_UNAVAILABLE event: ${listener.events}")
        assertTrue(unavailable.all { it.details["cause"] == "kek_missing" }, "events: $unavailable")
        // Bob's account is not affected.
        assertArrayEquals(byteArrayOf(2), vault.get(BOB, "ns", "b"))

        assertTrue(vault.resetAccount(ALICE))
        vault.put(ALICE, "ns", "new", byteArrayOf(3), DataClass.RESTRICTED, null)
        assertArrayEquals(byteArrayOf(3), vault.get(ALICE, "ns", "new"))
        assertNull(vault.get(ALICE, "ns", "old"), "reset keeps no old value")
        assertTrue(wrapper.hasKey(aliceAlias), "a new KEK for the restarted account")
        val reset = events(SecurityEventKind.VAULT_ACCOUNT_DELETED).single()
        assertEquals("reset", reset.details["mode"], "details: ${reset.details}")
    }

    @Test
    fun `a wrapper that unwraps everything to garbage gives KeyUnavailable with cause wrong_kek`() {
        // The canary is checked before the data keys: random bytes from unwrap mean "another
        // KEK", not tampering.
        val garbage = GarblingKeyWrapper { _ -> true }
        core.openVault(File(dir, "garbage").absolutePath, garbage).use {
            it.put(ALICE, "ns", "v", byteArrayOf(1), DataClass.PUBLIC, null)
        }
        garbage.garble = true
        core.openVault(File(dir, "garbage").absolutePath, garbage).use {
            assertThrows<VaultException.KeyUnavailable> { it.get(ALICE, "ns", "v") }
        }
        val unavailable = events(SecurityEventKind.VAULT_KEY_UNAVAILABLE)
        assertEquals(listOf("wrong_kek"), unavailable.map { it.details["cause"] }, "events: $unavailable")
    }

    @Test
    fun `a wrapper that unwraps data keys to garbage gives Integrity`() {
        // Honest for the canary, random 74 bytes (a wrapped-key payload's length) for the keys.
        val garbage = GarblingKeyWrapper { plain -> plain.size == KEY_PAYLOAD_LEN }
        core.openVault(File(dir, "garbage").absolutePath, garbage).use {
            it.put(ALICE, "ns", "v", byteArrayOf(1), DataClass.PUBLIC, null)
        }
        garbage.garble = true
        core.openVault(File(dir, "garbage").absolutePath, garbage).use {
            val error = assertThrows<VaultException.Integrity> { it.get(ALICE, "ns", "v") }
            assertTrue(error.reason.isNotBlank())
        }
        val failures = events(SecurityEventKind.VAULT_INTEGRITY_FAILURE)
        assertEquals(listOf("wrapped_key"), failures.map { it.details["what"] }, "events: $failures")
    }

    @Test
    fun `KeyWrapperException thrown by the wrapper becomes Keystore, or UserAuthenticationRequired`() {
        val failing = ThrowingKeyWrapper { KeyWrapperException.Failed("hsm offline") }
        core.openVault(File(dir, "failing").absolutePath, failing).use {
            val error = assertThrows<VaultException.Keystore> {
                it.put(ALICE, "ns", "v", byteArrayOf(1), DataClass.PUBLIC, null)
            }
            assertTrue("hsm offline" in error.reason, "reason: ${error.reason}")
            assertNull(it.get(ALICE, "ns", "v"), "a failed put stores nothing")
        }
        val locked = ThrowingKeyWrapper { KeyWrapperException.UserAuthenticationRequired() }
        core.openVault(File(dir, "locked").absolutePath, locked).use {
            // Its own case, not a keystore failure: the app prompts the user and calls again.
            val error = assertThrows<VaultException.UserAuthenticationRequired> {
                it.put(ALICE, "ns", "v", byteArrayOf(1), DataClass.PUBLIC, null)
            }
            assertTrue("authenticate" in error.reason, "reason: ${error.reason}")
        }
    }

    @Test
    fun `a wrapper that rejects a wrapped key gives KeyUnavailable, and the item is intact once it opens again`() {
        val rejecting = object : AesGcmKeyWrapper() {
            @Volatile
            var reject = false

            override fun unwrap(alias: String, wrapped: ByteArray): ByteArray =
                if (reject && alias.startsWith(KEK_PREFIX)) throw thrownIntoRust(KeyWrapperException.Rejected()) else super.unwrap(alias, wrapped)
        }
        val path = File(dir, "rejecting").absolutePath
        core.openVault(path, rejecting).use { it.put(ALICE, "ns", "v", byteArrayOf(7), DataClass.CONFIDENTIAL, null) }
        rejecting.reject = true
        core.openVault(path, rejecting).use {
            val error = assertThrows<VaultException.KeyUnavailable> { it.get(ALICE, "ns", "v") }
            assertTrue(error.reason.isNotBlank())
        }
        rejecting.reject = false
        core.openVault(path, rejecting).use { assertArrayEquals(byteArrayOf(7), it.get(ALICE, "ns", "v")) }
    }

    @Test
    fun `a plain Kotlin exception from the wrapper becomes Keystore without its message`() {
        val secret = "do-not-leak-5f3a9c"
        val buggy = ThrowingKeyWrapper { IllegalStateException(secret) }
        core.openVault(File(dir, "buggy").absolutePath, buggy).use {
            val error = assertThrows<VaultException.Keystore> {
                it.put(ALICE, "ns", "v", byteArrayOf(1), DataClass.PUBLIC, null)
            }
            assertTrue(error.reason.isNotBlank())
            assertFalse(secret in error.reason, "reason: ${error.reason}")
            assertFalse("IllegalStateException" in error.reason, "reason: ${error.reason}")
            assertFalse(secret in (error.message ?: ""), "message: ${error.message}")
            // The vault is still usable (reads do not need the wrapper for an unknown account).
            assertNull(it.get(ALICE, "ns", "v"))
        }
        assertTrue(buggy.calls > 0)
    }

    @Test
    fun `values with a TTL expire and purgeExpired counts them`() {
        vault.put(ALICE, "otp", "short", byteArrayOf(1), DataClass.RESTRICTED, 1L)
        vault.put(ALICE, "otp", "long", byteArrayOf(2), DataClass.RESTRICTED, 3600L)
        vault.put(ALICE, "otp", "forever", byteArrayOf(3), DataClass.RESTRICTED, null)
        assertArrayEquals(byteArrayOf(1), vault.get(ALICE, "otp", "short"))

        Thread.sleep(2100)

        assertNull(vault.get(ALICE, "otp", "short"))
        assertFalse(vault.contains(ALICE, "otp", "short"))
        assertEquals(listOf("forever", "long"), vault.list(ALICE, "otp"))
        assertEquals(1L, vault.purgeExpired())
        assertEquals(0L, vault.purgeExpired())
        assertArrayEquals(byteArrayOf(2), vault.get(ALICE, "otp", "long"))
        assertArrayEquals(byteArrayOf(3), vault.get(ALICE, "otp", "forever"))
    }

    @Test
    fun `one vault used from several Kotlin threads`() {
        val threads = 8
        val perThread = 25
        val pool = Executors.newFixedThreadPool(threads)
        try {
            val start = CountDownLatch(1)
            val workers = (0 until threads).map { t ->
                pool.submit<Int> {
                    start.await()
                    // Half the threads share one account, the others have their own.
                    val account = if (t % 2 == 0) ALICE else "account-$t"
                    for (i in 0 until perThread) {
                        val value = "t$t-i$i".toByteArray()
                        vault.put(account, "t$t", "n$i", value, DataClass.entries[i % 4], null)
                        assertArrayEquals(value, vault.get(account, "t$t", "n$i"))
                    }
                    vault.list(account, "t$t").size
                }
            }
            start.countDown()
            val counts = workers.map { it.get(WAIT_SECONDS * 6, TimeUnit.SECONDS) }
            assertEquals(List(threads) { perThread }, counts)
        } finally {
            pool.shutdownNow()
        }
        // One KEK per account and one id key, however many threads raced to create them.
        val keks = wrapper.created.filter { it.startsWith(KEK_PREFIX) }
        assertEquals(1 + threads / 2, keks.size, "created: ${wrapper.created}")
        assertEquals(1 + keks.size, wrapper.created.size, "created: ${wrapper.created}")
        idKeyAlias(wrapper.created)
        assertEquals(wrapper.created.toSet().size, wrapper.created.size)
    }

    @Test
    fun `with a RollbackAnchorStore a restored copy of the whole vault throws Integrity`() {
        val anchors = MemoryAnchorStore()
        val anchoredDir = File(dir, "anchored").apply { mkdirs() }
        val database = File(anchoredDir, "vault.sqlite3")
        core.openVault(anchoredDir.absolutePath, wrapper, anchors).use {
            it.put(ALICE, "wallet", "balance", "1000".toByteArray(), DataClass.CONFIDENTIAL, null)
        }
        val backup = database.readBytes()
        core.openVault(anchoredDir.absolutePath, wrapper, anchors).use {
            it.put(ALICE, "wallet", "balance", "0".toByteArray(), DataClass.CONFIDENTIAL, null)
        }
        assertEquals(1, anchors.values.size, "one anchor per account: ${anchors.values.keys}")
        assertTrue(anchors.values.keys.single().startsWith("rukasec.anchor.v2."), "${anchors.values.keys}")

        // The app's files restored from a backup; the anchor lives outside them.
        File(anchoredDir, "vault.sqlite3-wal").delete()
        File(anchoredDir, "vault.sqlite3-shm").delete()
        database.writeBytes(backup)
        core.openVault(anchoredDir.absolutePath, wrapper, anchors).use {
            assertThrows<VaultException.Integrity> { it.get(ALICE, "wallet", "balance") }
        }
        val rollback = events(SecurityEventKind.VAULT_INTEGRITY_FAILURE).filter { it.details["what"] == "rollback" }
        assertEquals(1, rollback.size, "events: ${listener.events}")

        // Deleting the account through the vault deletes its anchor too.
        core.openVault(anchoredDir.absolutePath, wrapper, anchors).use {
            assertTrue(it.resetAccount(ALICE))
            assertTrue(anchors.values.isEmpty(), "left: ${anchors.values}")
        }
    }

    @Test
    fun `a RollbackAnchorStore that throws makes reads Keystore errors and a failed store an event`() {
        val anchors = MemoryAnchorStore()
        val anchoredDir = File(dir, "failing-anchors").apply { mkdirs() }
        core.openVault(anchoredDir.absolutePath, wrapper, anchors).use {
            it.put(ALICE, "ns", "v", byteArrayOf(1), DataClass.PUBLIC, null)
        }
        anchors.failLoad = true
        core.openVault(anchoredDir.absolutePath, wrapper, anchors).use {
            val error = assertThrows<VaultException.Keystore> { it.get(ALICE, "ns", "v") }
            assertTrue("anchor store offline" in error.reason, "reason: ${error.reason}")
        }
        // Storing fails: the write stands, and an event says the anchor is behind.
        anchors.failLoad = false
        anchors.failStore = true
        core.openVault(anchoredDir.absolutePath, wrapper, anchors).use {
            it.put(ALICE, "ns", "v", byteArrayOf(2), DataClass.PUBLIC, null)
            assertArrayEquals(byteArrayOf(2), it.get(ALICE, "ns", "v"))
        }
        val causes = events(SecurityEventKind.VAULT_KEY_UNAVAILABLE).map { it.details["cause"] }
        assertTrue("anchor_not_stored" in causes, "events: ${listener.events}")
    }

    companion object {
        const val ALICE = "alice@example.test"
        const val BOB = "bob@example.test"

        /** Length of a wrapped-key payload (docs/FORMAT.md): header 42 bytes + key 32 bytes. */
        const val KEY_PAYLOAD_LEN = 74

        private val random = SecureRandom()

        fun randomBytes(size: Int): ByteArray = ByteArray(size).also(random::nextBytes)

        /** Alias prefixes of docs/FORMAT.md (format 2): an account's KEKs, the vault's id key. */
        const val KEK_PREFIX = "rukasec.kek.v2."
        const val ID_KEY_PREFIX = "rukasec.idk.v2."

        /**
         * The one KEK alias among `aliases`, checked against docs/FORMAT.md's shape
         * `"rukasec.kek.v2." ‖ hex(keyed account tag[0..16]) ‖ "." ‖ version` (the tag is keyed by
         * the vault's id key, so a test cannot compute it from the account id).
         */
        fun kekAlias(aliases: Collection<String>): String {
            val keks = aliases.filter { it.startsWith(KEK_PREFIX) }
            assertEquals(1, keks.size, "one KEK among $aliases")
            assertTrue(Regex("""rukasec\.kek\.v2\.[0-9a-f]{32}\.[1-9][0-9]*""").matches(keks[0]), keks[0])
            return keks[0]
        }

        /** The one id-key alias among `aliases`: `"rukasec.idk.v2." ‖ hex(vault id[0..16]) ‖ "." ‖ copy`. */
        fun idKeyAlias(aliases: Collection<String>): String {
            val ids = aliases.filter { it.startsWith(ID_KEY_PREFIX) }
            assertEquals(1, ids.size, "one id key among $aliases")
            assertTrue(Regex("""rukasec\.idk\.v2\.[0-9a-f]{32}\.[1-9][0-9]*""").matches(ids[0]), ids[0])
            return ids[0]
        }
    }
}

/**
 * An [AesGcmKeyWrapper] that, once [garble] is set, returns random bytes of a wrapped-key
 * payload's length from [unwrap] instead of each honest result that `which` selects.
 */
class GarblingKeyWrapper(private val which: (ByteArray) -> Boolean) : AesGcmKeyWrapper() {
    @Volatile
    var garble = false

    override fun unwrap(alias: String, wrapped: ByteArray): ByteArray {
        val plain = super.unwrap(alias, wrapped)
        if (!garble || !which(plain)) return plain
        plain.fill(0)
        return VaultTest.randomBytes(VaultTest.KEY_PAYLOAD_LEN)
    }
}

/** A [KeyWrapper] whose every method throws what `toThrow` makes. */
class ThrowingKeyWrapper(private val toThrow: () -> Exception) : KeyWrapper {
    @Volatile
    var calls = 0
        private set

    private fun fail(): Nothing {
        synchronized(this) { calls++ }
        throw thrownIntoRust(toThrow())
    }

    override fun createKey(alias: String) = fail()
    override fun wrap(alias: String, key: ByteArray): ByteArray { key.fill(0); fail() }
    override fun unwrap(alias: String, wrapped: ByteArray): ByteArray = fail()
    override fun deleteKey(alias: String) = fail()
    override fun isHardwareBacked(): Boolean = false
}

/** A [RollbackAnchorStore] in memory (an app keeps it in a Keystore-backed, non-backed-up store). */
class MemoryAnchorStore : RollbackAnchorStore {
    val values = java.util.concurrent.ConcurrentHashMap<String, Long>()

    @Volatile
    var failLoad = false

    @Volatile
    var failStore = false

    private fun fail(): Nothing = throw thrownIntoRust(KeyWrapperException.Failed("anchor store offline"))

    override fun load(name: String): Long? = if (failLoad) fail() else values[name]
    override fun store(name: String, value: Long) { if (failStore) fail(); values[name] = value }
    override fun delete(name: String) { values.remove(name) }
}
