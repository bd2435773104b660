// Plugin versions for every module, from gradle/libs.versions.toml; each module applies its own.
plugins {
    alias(libs.plugins.android.library) apply false
    alias(libs.plugins.android.application) apply false
    alias(libs.plugins.kotlin.android) apply false
}
