package com.rukapay.rukasec.android

import com.rukapay.rukasec.RukaSec
import com.rukapay.rukasec.SecurityEvent
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * The core's security events as a cold [Flow]: each collector gets its own subscription
 * (`subscribeEvents(capacity)`), which ends when the collector stops (cancellation included) or
 * the core is released. A collector slower than the events loses the oldest beyond [capacity]
 * (counted by the subscription's `missed()`), so a stuck screen never blocks the core.
 *
 * ```
 * lifecycleScope.launch {
 *     core.securityEvents().collect { event -> if (event.severity == Severity.CRITICAL) lockScreen() }
 * }
 * ```
 */
fun RukaSec.securityEvents(capacity: Int = 256): Flow<SecurityEvent> = flow {
    val subscription = subscribeEvents(capacity)
    try {
        while (true) {
            val event = subscription.next() ?: break
            emit(event)
        }
    } finally {
        subscription.unsubscribe()
        subscription.close()
    }
}
