package android.os;

/** JVM stand-in. */
public final class SystemClock {
    public static long elapsedRealtimeNanos() { return System.nanoTime(); }
}
