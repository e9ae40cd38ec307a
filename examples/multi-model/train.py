"""Trains three classifiers on the iris dataset scikit-learn ships (no download), one directory each.

    models/<name>/<version>/model.joblib

`logreg` has two versions (1: strongly regularized, 2: the default); the highest is served unless
a request asks for another (`?model=logreg&version=1`).
"""
import os
import sys


def train_all(models_dir):
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    iris = load_iris()
    models = {
        ("logreg", 1): LogisticRegression(C=0.01, max_iter=1000),
        ("logreg", 2): LogisticRegression(max_iter=1000),
        ("tree", 1): DecisionTreeClassifier(max_depth=3, random_state=0),
        ("knn", 1): KNeighborsClassifier(n_neighbors=5),
    }
    for (name, version), model in models.items():
        model.fit(iris.data, iris.target)
        directory = os.path.join(models_dir, name, str(version))
        os.makedirs(directory, exist_ok=True)
        joblib.dump(model, os.path.join(directory, "model.joblib"))
        print(f"{name} version {version}: accuracy {model.score(iris.data, iris.target):.3f}: {directory}")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    train_all(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "models"))
