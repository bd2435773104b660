package com.rukapay.rukasec

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The test double itself, called directly: it must keep the [KeyWrapper] contract. */
class AesGcmKeyWrapperTest {
    private val wrapper = AesGcmKeyWrapper()
    private val key = ByteArray(74) { (it * 7 + 1).toByte() }

    @Test
    fun `wrap then unwrap returns the key, and wrap wipes its input`() {
        wrapper.createKey("a")
        val input = key.copyOf()
        val wrapped = wrapper.wrap("a", input)
        assertTrue(input.all { it == 0.toByte() }, "wrap did not wipe the key it received")
        assertEquals(AesGcmKeyWrapper.IV_LEN + key.size + 16, wrapped.size, "IV ‖ ciphertext ‖ tag")
        assertArrayEquals(key, wrapper.unwrap("a", wrapped))
        // A random IV per call.
        assertNotEquals(wrapped.toList(), wrapper.wrap("a", key.copyOf()).toList())
    }

    @Test
    fun `unknown alias throws KeyNotFound, wrong alias or tampering throws Rejected`() {
        wrapper.createKey("a")
        wrapper.createKey("b")
        val wrapped = wrapper.wrap("a", key.copyOf())
        assertThrows<KeyWrapperException.KeyNotFound> { wrapper.unwrap("missing", wrapped) }
        assertThrows<KeyWrapperException.Rejected> { wrapper.unwrap("b", wrapped) }
        val tampered = wrapped.copyOf().also { it[it.size - 1] = (it[it.size - 1] + 1).toByte() }
        assertThrows<KeyWrapperException.Rejected> { wrapper.unwrap("a", tampered) }
        assertThrows<KeyWrapperException.Rejected> { wrapper.unwrap("a", ByteArray(5)) }
    }

    @Test
    fun `createKey replaces, deleteKey removes, both are recorded`() {
        wrapper.createKey("a")
        val wrapped = wrapper.wrap("a", key.copyOf())
        wrapper.createKey("a")
        assertThrows<KeyWrapperException.Rejected> { wrapper.unwrap("a", wrapped) }
        wrapper.deleteKey("a")
        wrapper.deleteKey("never-created")
        assertFalse(wrapper.hasKey("a"))
        assertEquals(listOf("a", "a"), wrapper.created.toList())
        assertEquals(listOf("a", "never-created"), wrapper.deleted.toList())
        assertEquals(emptySet<String>(), wrapper.aliases)
    }
}
