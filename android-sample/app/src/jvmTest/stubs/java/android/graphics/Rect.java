package android.graphics;

/** JVM stand-in. */
public final class Rect {}
