package android.app;

import android.content.Context;

/** JVM stand-in (for compiling the instrumented test; it runs on a device only). */
public class Instrumentation {
    public Context getTargetContext() { throw new UnsupportedOperationException("stand-in: device only"); }
    public Context getContext() { throw new UnsupportedOperationException("stand-in: device only"); }
}
