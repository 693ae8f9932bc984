package androidx.camera.core;

/** JVM stand-in. */
public final class ViewPort {}
