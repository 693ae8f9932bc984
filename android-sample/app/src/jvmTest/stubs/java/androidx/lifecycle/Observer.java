package androidx.lifecycle;

/** JVM stand-in. */
public interface Observer<T> {
    void onChanged(T value);
}
