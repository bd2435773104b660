package com.rukapay.rukasec.android

/**
 * A test that reaches a public server over the internet. Leave them out offline with
 * `-Pandroid.testInstrumentationRunnerArguments.notAnnotation=com.rukapay.rukasec.android.NeedsNetwork`
 * (`scripts/android-emulator-test.sh --no-network` passes that).
 */
@Retention(AnnotationRetention.RUNTIME)
@Target(AnnotationTarget.CLASS, AnnotationTarget.FUNCTION)
annotation class NeedsNetwork
