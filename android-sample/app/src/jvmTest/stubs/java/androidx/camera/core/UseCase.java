package androidx.camera.core;

/** JVM stand-in. */
public abstract class UseCase {}
