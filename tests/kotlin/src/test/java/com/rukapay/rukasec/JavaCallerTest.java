package com.rukapay.rukasec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main API called from Java, as an Android app written in Java calls it: no Kotlin-only
 * types (unsigned numbers, whose functions get mangled JVM names), no parameter named with a
 * keyword, constructors, records, enums, checked-at-the-boundary numbers and errors. This file
 * compiling is half the test.
 */
class JavaCallerTest {
    private static final byte[] VALUE = "r3fr3sh".getBytes(StandardCharsets.UTF_8);

    /**
     * Throws a checked exception from a method that does not declare it. UniFFI's generated
     * Kotlin interfaces for foreign traits carry no {@code @Throws}, so a Java implementation
     * cannot declare {@code throws KeyWrapperException} (a checked exception in Java) although
     * the core expects one: this is the workaround a Java app needs today (Kotlin apps do not).
     */
    @SuppressWarnings("unchecked")
    static <E extends Throwable> RuntimeException undeclared(Throwable exception) throws E {
        throw (E) exception;
    }

    /** A keystore in Java: AES-GCM keys in memory (the Android glue uses the Keystore). */
    static final class JavaKeyWrapper implements KeyWrapper {
        private final Map<String, byte[]> keys = new ConcurrentHashMap<>();
        private final SecureRandom random = new SecureRandom();

        @Override
        public void createKey(String alias) {
            byte[] key = new byte[32];
            random.nextBytes(key);
            keys.put(alias, key);
        }

        private Cipher cipher(int mode, String alias, byte[] iv) {
            byte[] key = keys.get(alias);
            if (key == null) throw undeclared(new KeyWrapperException.KeyNotFound());
            try {
                Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
                cipher.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
                return cipher;
            } catch (GeneralSecurityException e) {
                throw undeclared(new KeyWrapperException.Failed("cipher unavailable"));
            }
        }

        @Override
        public byte[] wrap(String alias, byte[] key) {
            byte[] iv = new byte[12];
            random.nextBytes(iv);
            try {
                byte[] sealed = cipher(Cipher.ENCRYPT_MODE, alias, iv).doFinal(key);
                byte[] out = Arrays.copyOf(iv, iv.length + sealed.length);
                System.arraycopy(sealed, 0, out, iv.length, sealed.length);
                return out;
            } catch (GeneralSecurityException e) {
                throw undeclared(new KeyWrapperException.Failed("wrap failed"));
            } finally {
                Arrays.fill(key, (byte) 0);
            }
        }

        @Override
        public byte[] unwrap(String alias, byte[] wrapped) {
            try {
                return cipher(Cipher.DECRYPT_MODE, alias, Arrays.copyOf(wrapped, 12))
                        .doFinal(wrapped, 12, wrapped.length - 12);
            } catch (GeneralSecurityException e) {
                throw undeclared(new KeyWrapperException.Rejected());
            }
        }

        @Override
        public void deleteKey(String alias) {
            keys.remove(alias);
        }

        @Override
        public boolean isHardwareBacked() {
            return false;
        }
    }

    @Test
    void theVaultIsCallableFromJava(@TempDir Path dir) throws Exception {
        try (RukaSec core = new RukaSec((SecurityEventListener) null)) {
            assertTrue(core.isCryptoOperational());
            assertFalse(RukasecKt.rukasecVersion().isEmpty());
            try (Vault vault = core.openVault(dir.toString(), new JavaKeyWrapper(), null)) {
                vault.put("customer-42", "tokens", "refresh", VALUE.clone(), DataClass.RESTRICTED, 3600L);
                assertArrayEquals(VALUE, vault.get("customer-42", "tokens", "refresh"));
                assertNull(vault.get("customer-42", "tokens", "missing"));
                assertEquals(List.of("refresh"), vault.list("customer-42", "tokens"));
                vault.putBatch("customer-42", List.of(
                        new VaultItem("tokens", "access", VALUE.clone(), DataClass.CONFIDENTIAL, null)));
                RotationReport report = vault.rotateDek("customer-42", DataClass.RESTRICTED);
                assertEquals(2L, report.getActiveVersion());
                assertEquals(1L, report.getReencrypted());
                assertEquals(0L, vault.purgeExpired());
                // A negative number is refused at the boundary, as a typed exception.
                VaultException.InvalidInput negative = assertThrows(VaultException.InvalidInput.class,
                        () -> vault.put("customer-42", "tokens", "x", VALUE.clone(), DataClass.PUBLIC, -1L));
                assertEquals("ttlSeconds must not be negative", negative.getReason());
                assertTrue(vault.deleteAccount("customer-42"));
            }
            EventStats stats = core.eventStats();
            assertTrue(stats.getEmitted() >= 1L);
            assertTrue(core.flushEvents(10_000L));
        }
    }

    @Test
    void pinsSigningAndOptionsAreCallableFromJava() throws Exception {
        byte[] digestB = new byte[32];
        Arrays.fill(digestB, (byte) 0xbb);
        String pinA = "sha256/" + Base64.getEncoder().encodeToString(new byte[32]);
        String pinB = "sha256/" + Base64.getEncoder().encodeToString(digestB);
        try (RukaSec core = new RukaSec((SecurityEventListener) null);
             PinPolicy policy = new PinPolicy(List.of(
                     new DomainPin("api.rukapay.com", false, List.of(pinA, pinB), null, true, null)))) {
            assertEquals(1, policy.domains().size());
            HttpsClientOptions options = new HttpsClientOptions(
                    false, List.of(), 10_000L, 30_000L, 1_048_576L, 5, List.of(), "com.rukapay.java", "1.0",
                    true, 10, 5.0);
            try (HttpsClient client = core.httpsClient(options, policy)) {
                assertEquals(List.of(), client.hstsHosts());
            }
            HttpsClientOptions negative = new HttpsClientOptions(
                    false, List.of(), -1L, 30_000L, 1_048_576L, 5, List.of(), "", "", true, 10, 5.0);
            assertThrows(TlsException.InvalidInput.class, () -> core.httpsClient(negative, policy));

            try (DeviceKey key = DeviceKey.Companion.generate()) {
                HttpRequest request = new HttpRequest("POST", "https://api.rukapay.com/v1/payments",
                        List.of(new HttpHeader("Content-Type", "application/json")),
                        "{\"amount\":15000}".getBytes(StandardCharsets.UTF_8));
                SignOptions signOptions = new SignOptions(
                        "device-1", "sig1", null, 60L, null, false, null, false);
                SignedRequestHeaders headers = key.signRequest(request, signOptions);
                assertTrue(headers.getSignature().startsWith("sig1=:"));
                assertTrue(headers.getSignatureInput().contains("keyid=\"device-1\""));
            }
        }
    }
}
