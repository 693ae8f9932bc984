package androidx.lifecycle;

/** JVM stand-in. */
public interface LifecycleOwner {}
