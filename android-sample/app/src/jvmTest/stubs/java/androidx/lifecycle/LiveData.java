package androidx.lifecycle;

/** JVM stand-in: synchronous. */
public abstract class LiveData<T> {
    protected T value;

    public T getValue() { return value; }
    public void observe(LifecycleOwner owner, Observer<? super T> observer) {}
}
