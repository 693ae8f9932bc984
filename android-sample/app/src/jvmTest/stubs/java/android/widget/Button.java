package android.widget;

/** JVM stand-in. */
public class Button extends TextView {}
