package androidx.camera.core;

/** JVM stand-in. */
public interface Camera {}
