package org.tensorflow.lite.gpu;

import org.tensorflow.lite.Delegate;

/** JVM stand-in: throws {@link #failure} when set (e.g. the UnsatisfiedLinkError of a missing OpenCL library). */
public class GpuDelegate implements Delegate {
    public static Throwable failure;
    public static int closed;

    public GpuDelegate(GpuDelegateFactory.Options options) {
        if (failure instanceof Error) throw (Error) failure;
        if (failure instanceof RuntimeException) throw (RuntimeException) failure;
    }

    @Override public void close() { closed++; }
}
