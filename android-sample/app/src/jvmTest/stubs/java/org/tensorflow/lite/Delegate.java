package org.tensorflow.lite;

/** JVM stand-in. */
public interface Delegate extends AutoCloseable {
    @Override void close();
}
