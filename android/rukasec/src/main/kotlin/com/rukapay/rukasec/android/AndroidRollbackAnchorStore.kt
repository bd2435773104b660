package com.rukapay.rukasec.android

import android.content.Context
import com.rukapay.rukasec.KeyWrapper
import com.rukapay.rukasec.KeyWrapperException
import com.rukapay.rukasec.RollbackAnchorStore
import java.io.File
import java.io.FileOutputStream
import java.io.IOException
import java.nio.ByteBuffer

/**
 * The vault's [RollbackAnchorStore] on Android: each anchor (the vault's per-account write
 * counter) is one small file in `noBackupFilesDir`, sealed by an AndroidKeyStore AES-GCM key.
 *
 * Why: the vault's database is part of the app's files and can come back from a backup or a
 * copy; the anchor must not. `noBackupFilesDir` is excluded from Auto Backup and device-to-device
 * transfer, so after a restore the database is older than its anchor and the vault refuses it.
 * Sealing under a keystore key (alias [SEAL_ALIAS]) makes a file edited or copied from another
 * device unreadable ([KeyWrapperException.Rejected]) instead of silently believed; the anchor's
 * name is sealed with its value, so files cannot be swapped between accounts.
 * Writes are crash-safe: a temporary file, `fsync`, then `rename` over the old one.
 *
 * @param directory where the anchors live (the default constructor: `noBackupFilesDir/rukasec-anchors`).
 * @param sealer the keystore that seals them (the default: [AndroidKeystoreKeyWrapper] in the TEE).
 */
class AndroidRollbackAnchorStore(
    private val directory: File,
    private val sealer: KeyWrapper = AndroidKeystoreKeyWrapper(preferStrongBox = false),
) : RollbackAnchorStore {

    constructor(context: Context) : this(File(context.noBackupFilesDir, DIRECTORY))

    private val lock = Any()

    override fun load(name: String): Long? = synchronized(lock) {
        val file = fileOf(name)
        if (!file.exists()) return null
        val sealed = try {
            file.readBytes()
        } catch (e: IOException) {
            throw KeyWrapperException.Failed("anchor: ${e.javaClass.simpleName}")
        }
        val plain = try {
            sealer.unwrap(SEAL_ALIAS, sealed)
        } catch (_: KeyWrapperException.KeyNotFound) {
            throw KeyWrapperException.Rejected()  // the file outlived its key (or came from elsewhere)
        }
        val expectedName = name.toByteArray(Charsets.UTF_8)
        if (plain.size != Long.SIZE_BYTES + expectedName.size ||
            !plain.copyOfRange(Long.SIZE_BYTES, plain.size).contentEquals(expectedName)
        ) {
            throw KeyWrapperException.Rejected()
        }
        ByteBuffer.wrap(plain, 0, Long.SIZE_BYTES).long.takeIf { it >= 0 } ?: throw KeyWrapperException.Rejected()
    }

    override fun store(name: String, value: Long) = synchronized(lock) {
        if (value < 0) throw KeyWrapperException.Failed("negative anchor")
        val nameBytes = name.toByteArray(Charsets.UTF_8)
        val plain = ByteBuffer.allocate(Long.SIZE_BYTES + nameBytes.size).putLong(value).put(nameBytes).array()
        val sealed = try {
            sealer.wrap(SEAL_ALIAS, plain.copyOf())
        } catch (_: KeyWrapperException.KeyNotFound) {
            // The first anchor: the seal key is made now.
            sealer.createKey(SEAL_ALIAS)
            sealer.wrap(SEAL_ALIAS, plain)
        }
        val file = fileOf(name)
        val temporary = File(directory, file.name + ".tmp")
        try {
            if (!directory.isDirectory && !directory.mkdirs()) throw IOException("mkdirs")
            FileOutputStream(temporary).use { out ->
                out.write(sealed)
                out.fd.sync()
            }
            if (!temporary.renameTo(file)) throw IOException("rename")
        } catch (e: IOException) {
            temporary.delete()
            throw KeyWrapperException.Failed("anchor: ${e.javaClass.simpleName}")
        }
    }

    override fun delete(name: String) = synchronized(lock) {
        val file = fileOf(name)
        if (file.exists() && !file.delete()) throw KeyWrapperException.Failed("anchor: delete")
    }

    /** One file per name: the name's UTF-8 bytes in hex (names are the core's, not user text). */
    private fun fileOf(name: String): File {
        val hex = name.toByteArray(Charsets.UTF_8).joinToString("") { "%02x".format(it) }
        return File(directory, "$hex.anchor")
    }

    companion object {
        /** The directory under `noBackupFilesDir`. */
        const val DIRECTORY = "rukasec-anchors"

        /** The keystore alias of the sealing key. */
        const val SEAL_ALIAS = "rukasec.rollback-anchors"
    }
}
