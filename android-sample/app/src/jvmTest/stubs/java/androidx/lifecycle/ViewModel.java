package androidx.lifecycle;

/** JVM stand-in. */
public abstract class ViewModel {
    protected void onCleared() {}
}
