// :rukasec-android, the Android library apps depend on: the Kotlin glue (src/main/kotlin), the
// Kotlin bindings generated from the Rust library, and librukasec_ffi.so for each ABI.
//
// Needs the Android SDK (compileSdk below), the NDK (version in gradle/libs.versions.toml),
// cargo-ndk (`cargo install cargo-ndk`) and the Rust targets
// (`rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`).
// Tasks of this module:
//   cargoNdkBuild      cargo-ndk: librukasec_ffi.so per ABI, the shipped features only
//   generateBindings   the workspace's uniffi-bindgen on that library, Android flavour
//   cargoHostLibrary   the host librukasec_ffi for the Robolectric unit tests (JNA on the JVM)
// AGP runs them as needed (assemble, test, connectedDebugAndroidTest).
import org.gradle.api.tasks.PathSensitivity
import org.gradle.api.tasks.testing.Test
import org.gradle.process.CommandLineArgumentProvider
import org.gradle.process.ExecOperations
import org.jetbrains.kotlin.gradle.dsl.JvmTarget
import java.io.ByteArrayOutputStream
import java.io.RandomAccessFile
import java.nio.ByteBuffer
import java.nio.ByteOrder
import javax.inject.Inject

plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

/** The Cargo workspace: android/ is the Gradle root, the workspace its parent. */
val workspaceRoot: File = rootProject.projectDir.parentFile

/**
 * The version of [crate] in the text of a Cargo.lock: the `version = "…"` line of its
 * `[[package]]` entry. Fails when the crate is missing or locked at two versions (then "the
 * version the Rust side uses" has no single answer).
 */
fun cargoLockVersion(lock: String, crate: String): String {
    val versions = lock.split("[[package]]").drop(1).mapNotNull { entry ->
        val lines = entry.lines().map(String::trim)
        if ("name = \"$crate\"" !in lines) return@mapNotNull null
        lines.firstOrNull { it.startsWith("version = \"") }?.removePrefix("version = \"")?.removeSuffix("\"")
    }
    return versions.singleOrNull()
        ?: throw GradleException("Cargo.lock: expected one $crate, found ${versions.ifEmpty { listOf("none") }}")
}

// rustls-platform-verifier's Rust side calls its Kotlin component (the AAR) through JNI, so the
// two must be the same release: the AAR's version is that of `rustls-platform-verifier-android`
// in Cargo.lock, read when Gradle configures the build (fileContents: a tracked input, so a new
// lock file reconfigures).
val rustlsPlatformVerifierVersion: String = cargoLockVersion(
    providers.fileContents(rootProject.layout.projectDirectory.file("../Cargo.lock")).asText.get(),
    "rustls-platform-verifier-android",
)

android {
    namespace = "com.rukapay.rukasec"
    compileSdk = libs.versions.compileSdk.get().toInt()
    // cargo-ndk is given this NDK too (ANDROID_NDK_HOME), and AGP strips the libraries with it.
    ndkVersion = libs.versions.ndk.get()

    defaultConfig {
        // 24: see gradle/libs.versions.toml (setInvalidatedByBiometricEnrollment is called
        // unconditionally; the API 28, 30 and 31 calls are behind SDK_INT checks).
        minSdk = libs.versions.minSdk.get().toInt()
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
        // Keep rules that apps' R8 applies: JNA, the bindings, the verifier's JNI component.
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // No packaging.jniLibs.keepDebugSymbols: the libraries are built unstripped (cargoNdkBuild)
    // and AGP strips them into the AAR with the NDK's llvm-strip (strip*DebugSymbols).
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

/** ABIs shipped: phones (arm64-v8a, armeabi-v7a) and the x86_64 emulator. */
val shippedAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

/**
 * Builds librukasec_ffi.so for [abis] with cargo-ndk, release profile, the crate's default
 * features only (bundled SQLite): never `ffi-testing`, whose exports (a deliberate panic, a
 * local TLS server) exist only for the binding test suites.
 *
 * - Unstripped (`CARGO_PROFILE_RELEASE_STRIP=none`): the workspace's release profile strips,
 *   and a stripped library has no UniFFI metadata for [UniffiBindgen]. AGP strips what it
 *   packages (its strip*DebugSymbols tasks), so apps still get stripped libraries.
 * - 16 KB pages: Android 15+ devices may use 16 KB memory pages, and Google Play requires
 *   64-bit libraries whose LOAD segments are aligned for them. NDK r28+ links that way by
 *   default, r27 (ours) and older do not, so the 64-bit targets get
 *   `-C link-arg=-Wl,-z,max-page-size=16384` through cargo's per-target RUSTFLAGS variables
 *   (a target setting: build scripts and proc macros, built for the host, are not touched).
 *   A RUSTFLAGS in the environment would override those, so the alignment is checked on the
 *   built files and the task fails when it is short. 32-bit ABIs are 4 KB only.
 * - `--platform` is the module's minSdk: the libraries link against no newer libc than the
 *   app may run on.
 * cargo decides what to rebuild (it knows the sources, features, toolchain and environment),
 * so this task always runs; a no-op build takes seconds and leaves identical files.
 */
abstract class CargoNdkBuild : DefaultTask() {
    @get:Inject abstract val exec: ExecOperations
    @get:Internal abstract val workspace: DirectoryProperty
    @get:Input abstract val abis: ListProperty<String>
    @get:Input abstract val platform: Property<Int>
    @get:Internal abstract val ndkDirectory: DirectoryProperty
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    init {
        outputs.upToDateWhen { false }
    }

    @TaskAction
    fun build() {
        val out = outputDir.get().asFile
        out.deleteRecursively() // an ABI dropped from the list does not linger in the package
        out.mkdirs()
        val command = mutableListOf("cargo", "ndk")
        for (abi in abis.get()) command += listOf("-t", abi)
        command += listOf(
            "--platform", platform.get().toString(), "-o", out.absolutePath,
            "build", "--release", "--locked", "-p", "rukasec-ffi", "--lib",
        )
        val pageFlags = "-C link-arg=-Wl,-z,max-page-size=16384"
        exec.exec {
            workingDir = workspace.get().asFile
            commandLine(command)
            environment("ANDROID_NDK_HOME", ndkDirectory.get().asFile.absolutePath)
            environment("CARGO_PROFILE_RELEASE_STRIP", "none")
            environment("CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS", pageFlags)
            environment("CARGO_TARGET_X86_64_LINUX_ANDROID_RUSTFLAGS", pageFlags)
        }
        for (abi in abis.get().filter { it == "arm64-v8a" || it == "x86_64" }) {
            val library = File(out, "$abi/librukasec_ffi.so")
            if (!library.isFile) throw GradleException("cargo-ndk wrote no $library")
            val alignments = loadSegmentAlignments(library)
            if (alignments.isEmpty() || alignments.any { it < 16384 || it % 16384 != 0L }) {
                throw GradleException("$library: LOAD segments aligned to $alignments, not 16 KB (is RUSTFLAGS set?)")
            }
        }
    }

    /** `p_align` of each PT_LOAD program header of a little-endian ELF64 file. */
    private fun loadSegmentAlignments(file: File): List<Long> = RandomAccessFile(file, "r").use { elf ->
        fun read(offset: Long, size: Int): ByteBuffer {
            val bytes = ByteArray(size)
            elf.seek(offset)
            elf.readFully(bytes)
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        }
        val ident = read(0, 16)
        if (ident.getInt(0) != 0x464c457f || ident.get(4).toInt() != 2 || ident.get(5).toInt() != 1) {
            throw GradleException("$file is not a little-endian ELF64 file")
        }
        val header = read(0, 64)
        val phoff = header.getLong(0x20)
        val phentsize = header.getShort(0x36).toInt() and 0xffff
        val phnum = header.getShort(0x38).toInt() and 0xffff
        (0 until phnum).mapNotNull { index ->
            val entry = read(phoff + index.toLong() * phentsize, 56)
            if (entry.getInt(0) == 1) entry.getLong(0x30) else null // PT_LOAD: p_align
        }
    }
}

/**
 * The Kotlin bindings of [library], generated by the workspace's own uniffi-bindgen (`cargo
 * run`: the same uniffi as the library, whatever Cargo.lock says) with [config], the Android
 * flavour (bindings/uniffi-android.toml). The library is one ABI's unstripped build from
 * [CargoNdkBuild]: UniFFI's metadata is the same in every ABI, and this way the bindings
 * describe exactly the library that ships (same features, no `ffi-testing`).
 */
abstract class UniffiBindgen : DefaultTask() {
    @get:Inject abstract val exec: ExecOperations
    @get:Internal abstract val workspace: DirectoryProperty
    @get:InputFile @get:PathSensitive(PathSensitivity.NONE) abstract val library: RegularFileProperty
    @get:InputFile @get:PathSensitive(PathSensitivity.NONE) abstract val config: RegularFileProperty
    // The uniffi version (and so the generator) comes from here.
    @get:InputFile @get:PathSensitive(PathSensitivity.NONE) abstract val lockFile: RegularFileProperty
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    @TaskAction
    fun generate() {
        val out = outputDir.get().asFile
        out.deleteRecursively()
        out.mkdirs()
        exec.exec {
            workingDir = workspace.get().asFile
            commandLine(
                "cargo", "run", "--quiet", "--locked", "-p", "rukasec-ffi", "--features", "cli",
                "--bin", "uniffi-bindgen", "--",
                "generate", "--library", library.get().asFile.absolutePath,
                "--language", "kotlin", "--config", config.get().asFile.absolutePath,
                "--out-dir", out.absolutePath, "--no-format",
            )
        }
    }
}

/**
 * The host build of librukasec_ffi (debug, default features) for the Robolectric unit tests,
 * which load it through JNA on the development machine's JVM. Copied out of cargo's target
 * directory, wherever that is (CARGO_TARGET_DIR, a cargo config: `cargo metadata` says).
 * Always runs, like [CargoNdkBuild].
 */
abstract class CargoHostLibrary : DefaultTask() {
    @get:Inject abstract val exec: ExecOperations
    @get:Internal abstract val workspace: DirectoryProperty
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    init {
        outputs.upToDateWhen { false }
    }

    @TaskAction
    fun build() {
        val dir = workspace.get().asFile
        exec.exec {
            workingDir = dir
            commandLine("cargo", "build", "--locked", "-p", "rukasec-ffi", "--lib")
        }
        val metadata = ByteArrayOutputStream()
        exec.exec {
            workingDir = dir
            commandLine("cargo", "metadata", "--format-version", "1", "--no-deps", "--offline")
            standardOutput = metadata
        }
        val targetDir = Regex("\"target_directory\":\"([^\"]*)\"").find(metadata.toString(Charsets.UTF_8))
            ?.groupValues?.get(1) ?: throw GradleException("cargo metadata named no target directory")
        val name = System.mapLibraryName("rukasec_ffi") // librukasec_ffi.so / .dylib
        val out = outputDir.get().asFile
        out.deleteRecursively()
        out.mkdirs()
        File(targetDir, "debug/$name").copyTo(File(out, name), overwrite = true)
    }
}

val cargoNdkBuild = tasks.register<CargoNdkBuild>("cargoNdkBuild") {
    group = "build"
    description = "Builds librukasec_ffi.so for ${shippedAbis.joinToString()} with cargo-ndk."
    workspace.set(workspaceRoot)
    abis.set(shippedAbis)
    platform.set(libs.versions.minSdk.get().toInt())
    ndkDirectory.set(androidComponents.sdkComponents.ndkDirectory)
    // AGP moves this into its own generated-sources tree (addGeneratedSourceDirectory below).
    outputDir.convention(layout.buildDirectory.dir("rust/jniLibs"))
}

val generateBindings = tasks.register<UniffiBindgen>("generateBindings") {
    group = "build"
    description = "Generates the Kotlin bindings from the unstripped arm64-v8a librukasec_ffi.so."
    workspace.set(workspaceRoot)
    library.set(cargoNdkBuild.flatMap { it.outputDir.file("arm64-v8a/librukasec_ffi.so") })
    config.set(File(workspaceRoot, "bindings/uniffi-android.toml"))
    lockFile.set(File(workspaceRoot, "Cargo.lock"))
    outputDir.convention(layout.buildDirectory.dir("generated/uniffi"))
}

val cargoHostLibrary = tasks.register<CargoHostLibrary>("cargoHostLibrary") {
    group = "verification"
    description = "Builds the host librukasec_ffi for the Robolectric unit tests."
    workspace.set(workspaceRoot)
    outputDir.set(layout.buildDirectory.dir("rust/host"))
}

// The generated directories become sources of every variant through AGP's variant API, which
// also makes the merge-jni-libs and compile tasks depend on the two tasks (no preBuild hook).
androidComponents {
    onVariants { variant ->
        variant.sources.jniLibs?.addGeneratedSourceDirectory(cargoNdkBuild, CargoNdkBuild::outputDir)
        variant.sources.kotlin?.addGeneratedSourceDirectory(generateBindings, UniffiBindgen::outputDir)
    }
}

// Unit tests (Robolectric, host JVM) load the host library, as android/pom.xml's do.
tasks.withType<Test>().configureEach {
    dependsOn(cargoHostLibrary)
    val libraryDir = cargoHostLibrary.flatMap { it.outputDir }.map { it.asFile.absolutePath }
    jvmArgumentProviders.add(CommandLineArgumentProvider { listOf("-Djna.library.path=${libraryDir.get()}") })
    systemProperty("robolectric.logging.enabled", "false")
}

dependencies {
    // The generated bindings are JNA code (their public types extend JNA's), so JNA is part of
    // this library's API. The AAR carries libjnidispatch.so for each Android ABI; `@aar` takes
    // that artifact alone (JNA has no dependencies).
    api("net.java.dev.jna:jna:${libs.versions.jna.get()}@aar")
    // Public API: suspend functions, and the events as a Flow.
    api(libs.kotlinx.coroutines.android)
    // Public API: BiometricPrompt.CryptoObject and FragmentActivity appear in the glue's signatures.
    api(libs.androidx.biometric)
    // @RequiresApi in the Android-flavoured bindings (also reaches here through biometric).
    implementation(libs.androidx.annotation)
    // Called only by the Rust verifier, through JNI: at runtime, not in the API.
    implementation("rustls:rustls-platform-verifier:$rustlsPlatformVerifierVersion")
    // compileOnly: the OkHttp interceptors (com.rukapay.rukasec.okhttp) are optional. An app
    // that uses them has OkHttp already (4.12 or 5) and keeps its own version; an app that
    // does not gets no OkHttp from us. consumer-rules.pro tells R8 the classes may be absent.
    compileOnly(libs.okhttp)

    testImplementation(libs.junit4)
    testImplementation(libs.robolectric)
    testImplementation(libs.okhttp)
    testImplementation(libs.okhttp.mockwebserver3)
    testImplementation(libs.okhttp.tls)
    // The JNA jar too: the AAR has no libjnidispatch for the host JVM the unit tests run on.
    testImplementation(libs.jna)

    // Instrumented tests: plain JUnit 4 classes run by AndroidJUnitRunner (no ext-junit needed).
    androidTestImplementation(libs.androidx.test.runner)
    androidTestImplementation(libs.junit4)
}
