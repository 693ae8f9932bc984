package androidx.lifecycle;

/** JVM stand-in: postValue sets the value at once. */
public class MutableLiveData<T> extends LiveData<T> {
    public MutableLiveData(T value) { this.value = value; }
    public void postValue(T value) { this.value = value; }
    public void setValue(T value) { this.value = value; }
}
