package io.netpoll.coroutines

import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions

/**
 * Lincheck's model checker with the suite's budget (the same as netpoll-core's `modelChecking()`,
 * whose test classes this module cannot see): 10 random scenarios of three threads with up to three
 * operations each, 500 explored interleavings per scenario and per custom scenario a test adds.
 */
fun coModelChecking(): ModelCheckingOptions =
    ModelCheckingOptions()
        .iterations(10)
        .invocationsPerIteration(500)
        .threads(3)
        .actorsPerThread(3)
