package android.app;

/** JVM stand-in. */
public class Application extends android.content.Context {}
