package org.tensorflow.lite.gpu;

/** JVM stand-in. */
public class GpuDelegateFactory {
    public static class Options {}
}
