"""Layer tests run single-threaded: their tensors are tiny, and on a shared 2-core machine OpenMP threads that
spin-wait behind other processes made them 10x slower."""
import pytest
import torch


@pytest.fixture(autouse=True, scope='module')
def single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
