package androidx.test.platform.app;

import android.app.Instrumentation;

/** JVM stand-in (compile only). */
public final class InstrumentationRegistry {
    public static Instrumentation getInstrumentation() { return new Instrumentation(); }
}
