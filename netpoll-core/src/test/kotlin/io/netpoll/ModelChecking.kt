package io.netpoll

import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions

/**
 * Lincheck's model checker with the suite's budget, shared by every `*LincheckTest`: 10 random
 * scenarios of three threads with up to three operations each, 500 explored interleavings per
 * scenario (and per custom scenario a test adds), about 20-25 s per test on two cores.
 */
fun modelChecking(): ModelCheckingOptions =
    ModelCheckingOptions()
        .iterations(10)
        .invocationsPerIteration(500)
        .threads(3)
        .actorsPerThread(3)
