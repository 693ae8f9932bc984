package org.tensorflow.lite;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * JVM stand-in: no LiteRT runtime here. Tests set {@link #stubInput}/{@link #stubOutput} (the tensors it reports)
 * and {@link #stubRun} (what {@link #run} does; refused when null), and read {@link #created} (the options of each
 * interpreter made).
 */
public final class Interpreter implements AutoCloseable {
    public static Tensor stubInput;
    public static Tensor stubOutput;
    public static final List<Options> created = new ArrayList<>();
    public static java.util.function.BiConsumer<Object, Object> stubRun;

    public static class Options {
        public final List<Delegate> delegates = new ArrayList<>();
        public int numThreads = -1;
        public boolean useXnnpack;

        public Options addDelegate(Delegate delegate) { delegates.add(delegate); return this; }
        public Options setNumThreads(int n) { numThreads = n; return this; }
        public Options setUseXNNPACK(boolean use) { useXnnpack = use; return this; }
    }

    public boolean closed;

    public Interpreter(ByteBuffer model, Options options) {
        if (stubInput == null || stubOutput == null) throw new IllegalArgumentException("stand-in: no tensors set");
        created.add(options);
    }

    public Tensor getInputTensor(int i) { return stubInput; }
    public Tensor getOutputTensor(int i) { return stubOutput; }
    public void run(Object input, Object output) {
        if (closed) throw new IllegalStateException("Internal error: The Interpreter has already been closed.");
        if (stubRun == null) throw new UnsupportedOperationException("stand-in: no LiteRT");
        stubRun.accept(input, output);
    }
    @Override public void close() { closed = true; }
}
