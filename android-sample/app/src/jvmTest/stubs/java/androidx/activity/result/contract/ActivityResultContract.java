package androidx.activity.result.contract;

/** JVM stand-in. */
public abstract class ActivityResultContract<I, O> {}
