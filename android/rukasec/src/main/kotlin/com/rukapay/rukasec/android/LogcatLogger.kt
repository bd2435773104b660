package com.rukapay.rukasec.android

import android.util.Log
import com.rukapay.rukasec.LogLevel
import com.rukapay.rukasec.LogRecord
import com.rukapay.rukasec.Logger

/**
 * The core's [Logger] writing to Logcat under one tag (`adb logcat -s RukaSec`). Records arrive
 * already redacted by the core (registered secrets, tokens, keys never reach here), on the
 * core's logging thread. Install with `core.setLogger(LogcatLogger(), LogLevel.INFO)`; release
 * builds usually keep WARN and above.
 *
 * @param tag the Logcat tag (at most 23 characters on API < 26).
 */
class LogcatLogger @JvmOverloads constructor(private val tag: String = TAG) : Logger {
    override fun log(record: LogRecord) {
        Log.println(priorityOf(record.level), tag, "${record.target}: ${record.message}")
    }

    companion object {
        const val TAG = "RukaSec"

        /** The `android.util.Log` priority of a core level. */
        @JvmStatic
        fun priorityOf(level: LogLevel): Int = when (level) {
            LogLevel.ERROR -> Log.ERROR
            LogLevel.WARN -> Log.WARN
            LogLevel.INFO -> Log.INFO
            LogLevel.DEBUG -> Log.DEBUG
            LogLevel.TRACE -> Log.VERBOSE
        }
    }
}
