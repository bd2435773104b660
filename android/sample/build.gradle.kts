// :sample, a one-screen app using :rukasec-android: unlock the vault with BiometricPrompt, store
// and read a secret under an AndroidKeyStore key, make a signed call through OkHttp with the
// core's pin check. Views built in code (no Compose, no layouts). Install on a device or
// emulator with `gradle -p android :sample:installDebug`.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "com.rukapay.rukasec.sample"
    compileSdk = libs.versions.compileSdk.get().toInt()
    // The app strips the merged native libraries again (and can extract their symbols for
    // Play): without an NDK it would package them as they come.
    ndkVersion = libs.versions.ndk.get()

    defaultConfig {
        applicationId = "com.rukapay.rukasec.sample"
        minSdk = libs.versions.minSdk.get().toInt()
        targetSdk = libs.versions.compileSdk.get().toInt()
        versionCode = 1
        versionName = "0.1"
    }

    buildTypes {
        release {
            // Minified, so that the library's consumer-rules.pro (JNA, bindings, verifier) is
            // exercised the way an app's release build does it.
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"))
            // A sample: signed with the debug key so that a release build installs as it is.
            signingConfig = signingConfigs.getByName("debug")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    implementation(project(":rukasec-android"))
    // AppCompatActivity is the FragmentActivity that BiometricPrompt needs.
    implementation(libs.androidx.appcompat)
    // The library takes OkHttp as compileOnly: an app using the interceptors brings its own.
    implementation(libs.okhttp)
}
