app_name = "seller_accounts"

urlpatterns = []
