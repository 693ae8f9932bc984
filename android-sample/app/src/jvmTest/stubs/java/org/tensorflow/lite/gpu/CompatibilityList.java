package org.tensorflow.lite.gpu;

/** JVM stand-in: {@link #supported} is what {@code isDelegateSupportedOnThisDevice} says. */
public class CompatibilityList implements AutoCloseable {
    public static boolean supported = false;

    public boolean isDelegateSupportedOnThisDevice() { return supported; }
    public GpuDelegateFactory.Options getBestOptionsForThisDevice() { return new GpuDelegateFactory.Options(); }
    @Override public void close() {}
}
