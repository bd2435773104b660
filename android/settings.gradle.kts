// The Gradle build for real Android apps (needs the Android SDK, the NDK, cargo-ndk and the
// Rust Android targets): the library module :rukasec-android (android/rukasec) and the one-screen
// :sample app. The host build of the same sources, without an SDK, is android/pom.xml.

pluginManagement {
    repositories {
        // Google's repository serves only Google's groups (AGP, AndroidX).
        google {
            content {
                includeGroupByRegex("com\\.android.*")
                includeGroupByRegex("com\\.google.*")
                includeGroupByRegex("androidx.*")
            }
        }
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    // Every repository is declared here, none in a module.
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google {
            content {
                includeGroupByRegex("com\\.android.*")
                includeGroupByRegex("com\\.google.*")
                includeGroupByRegex("androidx.*")
            }
        }
        mavenCentral()
        // rustls-platform-verifier's Kotlin component (the `rustls:rustls-platform-verifier` AAR,
        // called by the Rust verifier through JNI). Since rustls-platform-verifier 0.7 it is
        // published here, no longer inside the crate. Exclusive: the `rustls` group comes only
        // from this repository, and this repository serves nothing else.
        exclusiveContent {
            forRepository {
                maven {
                    name = "rustlsPlatformVerifier"
                    url = uri("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/")
                }
            }
            filter {
                includeGroup("rustls")
            }
        }
    }
}

rootProject.name = "rukasec-android-build"

// The library keeps its sources where the host build reads them (android/rukasec/src).
include(":rukasec-android")
project(":rukasec-android").projectDir = file("rukasec")

include(":sample")
