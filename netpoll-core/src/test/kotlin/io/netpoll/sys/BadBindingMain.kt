package io.netpoll.sys

/**
 * For a child JVM started with a `netpoll.libc` that names no binding: prints what each of two
 * calls to [Sys.libc] throws (`call <n> <exception class>: <message>`), so a test can see that
 * every call gets the same typed error, not the JVM's initialisation errors.
 */
object BadBindingMain {
    @JvmStatic
    fun main(args: Array<String>) {
        for (n in 1..2) {
            val outcome = try {
                Sys.libc().name()
            } catch (e: Throwable) {
                "${e.javaClass.simpleName}: ${e.message}"
            }
            println("call $n $outcome")
        }
    }
}
